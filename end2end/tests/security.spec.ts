// Account security in the browser: sessions on two devices, a password reset by email,
// confirming the address, and the admin page's refusal for ordinary accounts.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { arrived, hydrated, password, registerAccount, skipSetup, uniqueEmail } from "./support";

/** The newest link of the form `…/path?token=…` in a message to `address`. */
function linkTo(address: string, path: string): string | undefined {
  const dir = process.env.SMTP_SINK_DIR;
  if (!dir) throw new Error("SMTP_SINK_DIR is not set: run the suite with scripts/e2e");
  const links = readdirSync(dir)
    .filter((f) => f.endsWith(".eml"))
    .sort()
    .map((f) => readFileSync(join(dir, f), "utf8"))
    .filter((text) => text.split(/\r?\n\r?\n/)[0].includes(address))
    // Quoted-printable bodies: soft line breaks and =XX escapes undone.
    .map((text) => text.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))))
    .flatMap((text) => [...text.matchAll(new RegExp(`https?://[^\\s"<>]*${path}\\?token=(cel_[0-9a-f]{64})`, "g"))])
    .map((m) => `${path}?token=${m[1]}`);
  return links.at(-1);
}

const register = (page: Page, email: string) => registerAccount(page, { name: "Sec Person", email });

async function logIn(page: Page, email: string, secret = password) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(secret);
  await page.getByRole("button", { name: "Log in" }).click();
  await skipSetup(page);
}

test("the sessions list shows both devices and signs the other one out", async ({ page, browser }) => {
  const email = uniqueEmail("sessions");
  await register(page, email);
  const phone = await browser.newContext({ userAgent: "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36" });
  const phonePage = await phone.newPage();
  await logIn(phonePage, email);

  await page.goto("/settings/security");
  await hydrated(page);
  const rows = page.getByTestId("sessions").locator("tbody tr");
  await expect(rows).toHaveCount(2);
  await expect(page.getByTestId("sessions")).toContainText("Chrome on Android");
  await expect(page.locator("tr[data-current='true']")).toContainText("(this browser)");
  await page.getByRole("button", { name: "Sign out Chrome on Android" }).click();
  await expect(rows).toHaveCount(1);

  await phonePage.goto("/settings");
  await arrived(phonePage, /\/login\?next=\/settings$/);
  // The event is in the account's security log.
  await page.reload();
  await expect(page.getByTestId("audit-log")).toContainText("Session ended");
  await phone.close();
});

test("a forgotten password is reset by an emailed link, which signs every session out", async ({ page, browser }) => {
  const email = uniqueEmail("reset");
  await register(page, email);

  // Confirm the address from the registration email.
  let confirm: string | undefined;
  await expect.poll(() => (confirm = linkTo(email, "/account/confirm")), { timeout: 20_000 }).toBeTruthy();
  await page.goto(confirm!);
  await expect(page.getByTestId("confirmed")).toHaveText("Your email address is confirmed.");
  await page.goto("/settings/security");
  await expect(page.getByTestId("email-status")).toContainText("confirmed");

  const stranger = await browser.newContext();
  const resetPage = await stranger.newPage();
  await resetPage.goto("/login");
  await hydrated(resetPage);
  await resetPage.getByRole("link", { name: "Forgot your password?" }).click();
  await arrived(resetPage, /\/forgot-password$/);
  await hydrated(resetPage);
  await resetPage.getByLabel("Email", { exact: true }).fill(email);
  await resetPage.getByRole("button", { name: "Send the link" }).click();
  await expect(resetPage.getByTestId("reset-sent")).toContainText("If an account uses that address");

  let link: string | undefined;
  await expect.poll(() => (link = linkTo(email, "/reset-password")), { timeout: 20_000 }).toBeTruthy();
  await resetPage.goto(link!);
  await hydrated(resetPage);
  await resetPage.getByLabel("New password", { exact: true }).fill("short");
  await resetPage.getByRole("button", { name: "Save the new password" }).click();
  await expect(resetPage.getByText("Use at least 10 characters.")).toBeVisible();
  await resetPage.getByLabel("New password", { exact: true }).fill("a fresh long passphrase");
  await resetPage.getByRole("button", { name: "Save the new password" }).click();
  await arrived(resetPage, /\/login\?reset=1$/);
  await expect(resetPage.getByTestId("login-notice")).toContainText("every session was signed out");

  // The first browser was signed out; the new password works, and the link does not work twice.
  await page.goto("/settings");
  await arrived(page, /\/login/);
  await logIn(resetPage, email, "a fresh long passphrase");
  await resetPage.goto(link!);
  await hydrated(resetPage);
  await resetPage.getByLabel("New password", { exact: true }).fill("yet another passphrase");
  await resetPage.getByRole("button", { name: "Save the new password" }).click();
  await expect(resetPage.getByText("This reset link is not valid")).toBeVisible();
  await stranger.close();
});

test("an ordinary account is told the admin page is for administrators", async ({ page }) => {
  await register(page, uniqueEmail("notadmin"));
  await page.goto("/admin");
  await expect(page.getByTestId("admin-refused")).toHaveText("Only administrators can do this.");
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" })).toHaveCount(0);
});

test("signing in with an OpenID Connect provider (PKCE) creates the account and lists the provider", async ({ page }) => {
  const email = uniqueEmail("oidc");
  await page.goto("/login");
  await hydrated(page);
  await page.getByRole("link", { name: "Sign in with Test ID" }).click();
  // The provider's own sign-in page.
  await expect(page).toHaveTitle("Test provider");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Name", { exact: true }).fill("Ida Provider");
  await page.getByRole("button", { name: "Continue" }).click();
  await arrived(page, /\/calendar$/);
  await expect(page.getByTestId("account-name")).toHaveText("Ida Provider");

  await page.goto("/settings/security");
  await hydrated(page);
  await expect(page.getByTestId("linked-providers")).toContainText("Test ID");
  await expect(page.getByTestId("email-status")).toContainText("confirmed");
  // The only way in cannot be unlinked.
  await page.getByRole("button", { name: "Unlink Test ID" }).click();
  await expect(page.getByText("This is your only way to sign in.")).toBeVisible();

  // Signing out and in again with the provider finds the same account.
  await page.getByRole("button", { name: "Log out" }).click();
  await arrived(page, /\/login$/);
  await hydrated(page);
  await page.getByRole("link", { name: "Sign in with Test ID" }).click();
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByRole("button", { name: "Continue" }).click();
  await arrived(page, /\/calendar$/);
  await expect(page.getByTestId("account-name")).toHaveText("Ida Provider");
});

test("the administrator finds an account, disables it and re-enables it, and makes invite links", async ({ page, browser }) => {
  // scripts/e2e made the administrator with the admin command before the server started.
  const email = uniqueEmail("managed");
  const member = await browser.newContext();
  const memberPage = await member.newPage();
  await register(memberPage, email);

  await logIn(page, "admin@e2e.example.org", "e2e administrator password");
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" })).toBeVisible();
  await page.goto(`/admin?q=${encodeURIComponent(email)}`);
  await hydrated(page);
  const row = page.locator(`tr[data-email='${email}']`);
  await expect(row).toHaveCount(1);
  await row.getByRole("button", { name: "Disable" }).click();
  await expect(row).toContainText("disabled");

  // The member's session ended; signing in again is refused with a clear message.
  await memberPage.goto("/settings");
  await arrived(memberPage, /\/login/);
  await hydrated(memberPage);
  await memberPage.getByLabel("Email", { exact: true }).fill(email);
  await memberPage.getByLabel("Password", { exact: true }).fill(password);
  await memberPage.getByRole("button", { name: "Log in" }).click();
  await expect(memberPage.getByText("This account is disabled.")).toBeVisible();

  await row.getByRole("button", { name: "Re-enable" }).click();
  await expect(row).not.toContainText("disabled");
  await logIn(memberPage, email);

  // An invite link, shown once.
  await page.getByLabel("Invite for (optional email)").fill(uniqueEmail("invitee"));
  await page.getByRole("button", { name: "Create invite link" }).click();
  await expect(page.getByTestId("invite-link")).toContainText("/register?invite=cai_");
  // The security log shows what the administrator did.
  await expect(page.getByTestId("audit-log").first()).toContainText("Disabled by an administrator");
  await member.close();
});
