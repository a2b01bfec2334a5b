// Settings → Calendar apps: what to give a CalDAV app, an app password for it, and the
// app's last sync; the password works for CalDAV (HTTP Basic) until it is revoked.
import { expect, test } from "@playwright/test";
import { hydrated, registerAccount, uniqueEmail } from "./support";

const propfind = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>`;

test("an app password is shown once, syncs over CalDAV, shows its last sync and stops when revoked", async ({
  page,
  request,
}) => {
  const email = uniqueEmail("caldav");
  await registerAccount(page, { name: "Ada Lovelace", email });
  await page.goto("/settings/calendar-apps");
  await hydrated(page);
  const account = page.getByTestId("caldav-account");
  await expect(account).toContainText("http://");
  await expect(account).toContainText(email);
  await expect(page.getByTestId("no-apps")).toBeVisible();
  // The Apple profile is offered for the signed-in account.
  const profileLink = page.getByTestId("apple-profile");
  await expect(profileLink).toHaveAttribute("href", "/settings/calendar-apps/calento.mobileconfig");
  const profile = await page.request.get("/settings/calendar-apps/calento.mobileconfig");
  expect(profile.status()).toBe(200);
  expect(profile.headers()["content-type"]).toContain("application/x-apple-aspen-config");
  expect(await profile.text()).toContain(`<string>${email}</string>`);

  await page.getByLabel("App name", { exact: true }).fill("iPhone");
  await page.getByRole("button", { name: "Create app password" }).click();
  const password = (await page.getByTestId("new-app-password").textContent())?.trim() ?? "";
  expect(password).toMatch(/^cal_[0-9a-f]{64}$/);
  await expect(page.getByTestId("apps")).toContainText("iPhone");
  await expect(page.getByTestId("apps")).toContainText("Never");

  const basic = `Basic ${Buffer.from(`${email}:${password}`).toString("base64")}`;
  const dav = await request.fetch("/dav/", {
    method: "PROPFIND",
    headers: { Authorization: basic, Depth: "0", "Content-Type": "application/xml" },
    data: propfind,
  });
  expect(dav.status()).toBe(207);
  expect(await dav.text()).toContain("/dav/principals/");

  // The list says when the app last synced; the password is not shown again.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("new-app-password")).toHaveCount(0);
  await expect(page.getByTestId("apps")).not.toContainText("Never");
  // App passwords are not API tokens: that list stays empty.
  await page.goto("/settings/tokens");
  await expect(page.getByTestId("no-tokens")).toBeVisible();

  await page.goto("/settings/calendar-apps");
  await hydrated(page);
  await page.getByRole("button", { name: "Revoke iPhone" }).click();
  await expect(page.getByTestId("no-apps")).toBeVisible();
  const after = await request.fetch("/dav/", {
    method: "PROPFIND",
    headers: { Authorization: basic, Depth: "0" },
    data: propfind,
  });
  expect(after.status()).toBe(401);
});

test.describe("without WebAssembly", () => {
  test.use({ javaScriptEnabled: false });

  test("an app password is made with a plain form and shown once", async ({ page }) => {
    await registerAccount(page, { name: "Ada Lovelace", email: uniqueEmail("caldav-nojs"), js: false });
    await page.goto("/settings/calendar-apps");
    await page.getByLabel("App name", { exact: true }).fill("Thunderbird");
    await page.getByRole("button", { name: "Create app password" }).click();
    await expect(page.getByTestId("new-app-password")).toHaveText(/^cal_[0-9a-f]{64}$/);
    await expect(page.getByTestId("apps")).toContainText("Thunderbird");
    await page.reload();
    await expect(page.getByTestId("new-app-password")).toHaveCount(0);
  });
});
