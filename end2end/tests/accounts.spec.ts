// What a person does with their account in the browser, with and without WebAssembly.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test, type Page } from "@playwright/test";
import { arrived, hydrated, password, registerAccount, skipSetup, uniqueEmail } from "./support";

const register = (page: Page, email: string, name = "Ada Lovelace") => registerAccount(page, { name, email });

test.describe("with WebAssembly", () => {
  test.use({ timezoneId: "Asia/Tokyo" });

  test("registering pre-fills the browser's time zone, then the person logs in", async ({ page }) => {
    await page.goto("/register");
    await hydrated(page);
    // Only the hydrated page can read the browser's zone: this proves the WASM runs.
    await expect(page.getByLabel("Time zone", { exact: true })).toHaveValue("Asia/Tokyo");
    await page.getByLabel("Name", { exact: true }).fill("Grace Hopper");
    const email = uniqueEmail("grace");
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Create account" }).click();
    await arrived(page, /\/login\?registered=1$/);
    await expect(page.getByTestId("login-notice")).toContainText("We sent an email to the address you gave");
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    // The first sign-in opens the guided setup, one step at a time.
    await arrived(page, /\/welcome$/);
    await expect(page.getByTestId("welcome-progress")).toHaveText("Step 1 of 4");
    await expect(page.getByTestId("welcome-step")).toHaveText("Your time zone and working hours");
    // The unconfirmed address is mentioned, once, here.
    await expect(page.getByTestId("confirm-email-note")).toContainText(email);
    await expect(page.getByLabel("Time zone", { exact: true })).toHaveValue("Asia/Tokyo");
    await page.getByLabel("Fri", { exact: true }).uncheck();
    await page.getByTestId("work-start").fill("08:30");
    await page.getByTestId("work-end").fill("16:30");
    await page.getByTestId("welcome-save").click();
    await arrived(page, /\/welcome\?step=calendar$/);
    await expect(page.getByTestId("welcome-progress")).toHaveText("Step 2 of 4");
    await page.getByTestId("skip-step").click();
    await arrived(page, /\/welcome\?step=link$/);
    await page.getByLabel("Title", { exact: true }).fill("Coffee chat");
    await page.getByTestId("welcome-duration").selectOption("45");
    await page.getByTestId("welcome-save").click();
    await arrived(page, /\/welcome\?step=dump$/);
    await page.getByTestId("welcome-dump").fill("call the bank tomorrow 10am ~15m\nwater the plants");
    await page.getByTestId("welcome-save").click();
    // The last page shows what was made.
    await arrived(page, /\/welcome\?step=done$/);
    await expect(page.getByTestId("made-zone")).toHaveText("Time zone: Asia/Tokyo");
    await expect(page.getByTestId("made-hours")).toHaveText("Working hours: Monday, Tuesday, Wednesday, Thursday, 08:30 – 16:30");
    await expect(page.getByTestId("made-link")).toContainText("Coffee chat");
    await expect(page.getByTestId("made-tasks")).toHaveText("2 open tasks");
    await expect(page.getByTestId("confirm-email-note")).toHaveCount(0);
    await page.getByTestId("welcome-finish").click();
    await arrived(page, /\/calendar$/);
    await expect(page.getByTestId("account-name")).toHaveText("Grace Hopper");
    await expect(page.getByTestId("today")).toContainText("in Asia/Tokyo");
    // The setup is offered once: the next sign-in goes to the calendar.
    await page.getByRole("button", { name: "Log out" }).click();
    await arrived(page, /\/login$/);
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    await arrived(page, /\/calendar$/);
    // The booking link made in the setup is there.
    await page.goto("/booking-links");
    await expect(page.getByText("Coffee chat")).toBeVisible();
  });

  test("the setup's calendar step subscribes to an ICS address, whose events then show", async ({ page }) => {
    // A calendar server of the person's: one event, served as an ICS feed on this machine.
    const feed = [
      "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//e2e//feed//EN",
      "BEGIN:VEVENT", "UID:standup-1@e2e.example", "DTSTAMP:20300101T000000Z",
      "DTSTART:20300115T090000Z", "DTEND:20300115T093000Z", "SUMMARY:Team standup (from work)",
      "END:VEVENT", "END:VCALENDAR", "",
    ].join("\r\n");
    const server = http.createServer((_, res) => {
      res.writeHead(200, { "Content-Type": "text/calendar" });
      res.end(feed);
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const port = (server.address() as AddressInfo).port;
    try {
      const email = uniqueEmail("subscriber");
      await page.goto("/register");
      await hydrated(page);
      await page.getByLabel("Name", { exact: true }).fill("Sub Scriber");
      await page.getByLabel("Email", { exact: true }).fill(email);
      await page.getByLabel("Password", { exact: true }).fill(password);
      await page.getByRole("button", { name: "Create account" }).click();
      await arrived(page, /\/login\?registered=1$/);
      await page.getByLabel("Email", { exact: true }).fill(email);
      await page.getByLabel("Password", { exact: true }).fill(password);
      await page.getByRole("button", { name: "Log in" }).click();
      await arrived(page, /\/welcome$/);
      await page.getByTestId("welcome-save").click();
      await arrived(page, /\/welcome\?step=calendar$/);
      // Addresses Calento will not fetch are refused in place: another scheme, a private network.
      await page.getByLabel("ICS address").fill("ftp://example.org/work.ics");
      await page.getByTestId("welcome-save").click();
      await expect(page.getByRole("alert").filter({ hasText: "Enter the calendar's address, starting with https://." })).toBeVisible();
      await page.getByLabel("ICS address").fill("http://10.1.2.3/work.ics");
      await page.getByTestId("welcome-save").click();
      await expect(page.getByRole("alert").filter({ hasText: "Calento cannot subscribe to this address" })).toBeVisible();
      await expect(page).toHaveURL(/\/welcome\?step=calendar$/);
      await page.getByLabel("Name", { exact: true }).fill("Work");
      await page.getByLabel("ICS address").fill(`http://127.0.0.1:${port}/work.ics`);
      await page.getByTestId("welcome-save").click();
      await arrived(page, /\/welcome\?step=link$/);
      await page.getByTestId("skip-step").click();
      await arrived(page, /\/welcome\?step=dump$/);
      await page.getByTestId("skip-step").click();
      await arrived(page, /\/welcome\?step=done$/);
      await expect(page.getByTestId("made-calendars")).toContainText("subscribed to Work");
      // The feed is read at once, not at the next minute's poll: its event is in the week.
      await expect(async () => {
        await page.goto("/calendar?view=week&date=2030-01-15");
        await expect(page.getByTestId("event").filter({ hasText: "Team standup (from work)" })).toHaveCount(1, { timeout: 500 });
      }).toPass({ timeout: 15_000 });
    } finally {
      server.close();
    }
  });

  test("registration shows each field's problem and keeps the person on the form", async ({ page }) => {
    await page.goto("/register");
    await hydrated(page);
    await page.getByLabel("Name", { exact: true }).fill("Short Password");
    await page.getByLabel("Email", { exact: true }).fill("not-an-email");
    await page.getByLabel("Password", { exact: true }).fill("short");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByText("Enter an email address like name@example.com.")).toBeVisible();
    await expect(page.getByText("Use at least 10 characters.")).toBeVisible();
    await arrived(page, /\/register/);
  });

  test("log out, then log in again, with a clear message for a wrong password", async ({ page }) => {
    const email = uniqueEmail("login");
    await register(page, email);
    await page.getByRole("button", { name: "Log out" }).click();
    await arrived(page, /\/login$/);
    await page.goto("/settings");
    await arrived(page, /\/login\?next=\/settings$/);

    await hydrated(page);
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill("not my password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByText("Email or password is incorrect.")).toBeVisible();

    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    await arrived(page, /\/settings$/);
    await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
  });

  test("changing the time zone in settings changes what the calendar shows", async ({ page }) => {
    await register(page, uniqueEmail("zone"));
    await page.getByRole("link", { name: "Settings" }).click();
    await arrived(page, /\/settings$/);
    await hydrated(page);
    await page.getByLabel("Time zone", { exact: true }).fill("America/New_York");
    await page.getByLabel("Week starts on", { exact: true }).selectOption("sunday");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByTestId("saved")).toHaveText("Saved.");
    await page.getByRole("link", { name: "Calendar", exact: true }).click();
    await expect(page.getByTestId("today")).toContainText("in America/New_York");
    await page.reload();
    await expect(page.getByTestId("today")).toContainText("in America/New_York");
    // The week view now starts on Sunday.
    await expect(page.locator(".day-head").first()).toContainText("Sun");
  });

  test("a token is shown once, works on the API, and stops working when revoked", async ({ page, request }) => {
    await register(page, uniqueEmail("token"));
    await page.goto("/settings/tokens");
    await hydrated(page);
    await expect(page.getByTestId("no-tokens")).toBeVisible();
    await page.getByLabel("Token name", { exact: true }).fill("CLI on my laptop");
    await page.getByRole("button", { name: "Create token" }).click();
    const token = (await page.getByTestId("new-token").textContent())?.trim() ?? "";
    expect(token).toMatch(/^cal_[0-9a-f]{64}$/);
    await expect(page.getByTestId("tokens")).toContainText("CLI on my laptop");

    const me = await request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status()).toBe(200);

    await page.reload();
    await expect(page.getByTestId("new-token")).toHaveCount(0);
    await hydrated(page);
    await page.getByRole("button", { name: "Revoke CLI on my laptop" }).click();
    await expect(page.getByTestId("no-tokens")).toBeVisible();
    const after = await request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
    expect(after.status()).toBe(401);
  });

  test("the theme switches in place, without reloading the page", async ({ page }) => {
    await page.goto("/login");
    await hydrated(page);
    await page.evaluate(() => ((window as unknown as { marker: string }).marker = "still here"));
    const html = page.locator("html");
    await expect(html).toHaveAttribute("data-theme", "system");
    await page.getByTestId("theme-toggle").click();
    await expect(html).toHaveAttribute("data-theme", "light");
    await page.getByTestId("theme-toggle").click();
    await expect(html).toHaveAttribute("data-theme", "dark");
    expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe("still here");
    await page.reload();
    await expect(html).toHaveAttribute("data-theme", "dark");
  });

  test("an unknown address shows the not-found page with status 404", async ({ page }) => {
    const response = await page.goto("/no/such/page");
    expect(response?.status()).toBe(404);
    await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  });
});

test("the bundle's files have hashed names, are cached for a year and served compressed", async ({ page, request }) => {
  await page.goto("/login");
  const href = await page.locator("link[rel=modulepreload]").first().getAttribute("href");
  expect(href).toMatch(/^\/pkg\/calento\.[0-9a-f]{16}\.js$/);
  const build = href?.split(".")[1];
  // The main module and the chunks of the page shown (its lazily loaded code) are
  // preloaded, every one named with the same build id.
  const modules = await page.locator("link[rel=preload][as=fetch]").evaluateAll((links) => links.map((l) => l.getAttribute("href")));
  expect(modules).toContain(`/pkg/calento.${build}.wasm`);
  expect(modules.length).toBeGreaterThan(1);
  for (const wasm of modules) {
    expect(wasm).toMatch(new RegExp(`^/pkg/[a-z_0-9]+\\.${build}\\.wasm$`));
    const response = await request.get(wasm ?? "", { headers: { "Accept-Encoding": "br" } });
    expect(response.status()).toBe(200);
    expect(response.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(response.headers()["content-encoding"]).toBe("br");
    expect(response.headers()["content-type"]).toBe("application/wasm");
  }
});

test.describe("on a 360 px wide phone", () => {
  test.use({ viewport: { width: 360, height: 740 } });

  test("pages fit the screen without sideways scrolling", async ({ page }) => {
    await register(page, uniqueEmail("phone"));
    for (const path of ["/calendar", "/settings", "/settings/tokens", "/tasks", "/focus", "/today", "/stats", "/settings/tasks", "/settings/security", "/admin", "/forgot-password"]) {
      await page.goto(path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("register, see errors, log in, log out and log in again with plain forms", async ({ page }) => {
    const email = uniqueEmail("nojs");
    await page.goto("/register");
    await page.getByLabel("Name", { exact: true }).fill("No Script");
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill("short");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByText("Use at least 10 characters.")).toBeVisible();

    await page.getByLabel("Name", { exact: true }).fill("No Script");
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Create account" }).click();
    await arrived(page, /\/login\?registered=1$/);
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    // The guided setup's steps are plain forms too.
    await arrived(page, /\/welcome$/);
    await page.getByTestId("welcome-save").click();
    await arrived(page, /\/welcome\?step=calendar$/);
    await page.goto("/welcome?step=dump");
    await page.getByTestId("welcome-dump").fill("renew the passport by 1 march");
    await page.getByTestId("welcome-save").click();
    await arrived(page, /\/welcome\?step=done$/);
    await expect(page.getByTestId("made-tasks")).toHaveText("1 open task");
    await page.getByTestId("welcome-finish").click();
    await arrived(page, /\/calendar$/);
    await expect(page.getByTestId("account-name")).toHaveText("No Script");

    await page.getByRole("button", { name: "Log out" }).click();
    await arrived(page, /\/login$/);
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    await arrived(page, /\/calendar$/);
  });

  test("a token created without JavaScript is still shown once", async ({ page }) => {
    await page.goto("/register");
    await page.getByLabel("Name", { exact: true }).fill("No Script Tokens");
    const email = uniqueEmail("nojs-token");
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Create account" }).click();
    await arrived(page, /\/login\?registered=1$/);
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    await skipSetup(page);
    await page.goto("/settings/tokens");
    await page.getByLabel("Token name", { exact: true }).fill("script");
    await page.getByRole("button", { name: "Create token" }).click();
    await expect(page.getByTestId("new-token")).toHaveText(/^cal_[0-9a-f]{64}$/);
    await page.reload();
    await expect(page.getByTestId("new-token")).toHaveCount(0);
    await expect(page.getByTestId("tokens")).toContainText("script");
  });
});
