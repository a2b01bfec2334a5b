// Connecting a Google account through the browser: Settings → Connected accounts sends the
// browser to Google's consent page (scripts/google_fake.py, which checks PKCE and the
// requested scope), the person allows, and the account is back on the sync page with its
// primary calendar syncing busy time, its events counted. Choosing two-way sync on the
// hydrated page then pairs it with a new Calento calendar.
import { expect, test } from "@playwright/test";
import { arrived, hydrated, register } from "./support";

const google = process.env.GOOGLE_FAKE_URL ?? "";

test("a Google account connects through the browser and its calendar syncs", async ({ page }) => {
  test.skip(!google, "scripts/e2e starts the local Google fake");
  test.setTimeout(90_000);
  await register(page, "Gina Google", "google");
  const email = `gina-${Date.now()}@gmail.test`;
  // Google already has an event in that account's primary calendar.
  await fetch(`${google}/_control/accounts`, { method: "POST", body: JSON.stringify({ email }) });
  await fetch(`${google}/_control/events/${encodeURIComponent(email)}`, {
    method: "POST",
    body: JSON.stringify({
      id: "e2eevent1",
      summary: "Dentist (from Google)",
      start: { dateTime: "2031-05-06T09:00:00+02:00", timeZone: "Europe/Paris" },
      end: { dateTime: "2031-05-06T10:00:00+02:00", timeZone: "Europe/Paris" },
    }),
  });

  await page.goto("/settings/connections");
  await arrived(page, /\/settings\/connections$/);
  await hydrated(page);
  await expect(page.getByTestId("no-connections")).toBeVisible();
  await page.getByTestId("connect-google").click();
  // Google's consent page.
  await expect(page).toHaveTitle(/Sign in - Google Accounts/);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Allow" }).click();

  await arrived(page, /\/settings\/connections\?connected=google$/);
  await expect(page.getByTestId("connections-status")).toContainText("Google account connected.");
  const connection = page.locator(`[data-testid=connection][data-account="${email}"]`);
  await expect(connection).toBeVisible();
  await expect(connection.getByTestId("connection-ok")).toBeVisible();
  const primary = connection.locator(`[data-testid=remote-calendar][data-remote="${email}"]`);
  await expect(primary).toHaveAttribute("data-mode", "busy");
  // The first sync runs in the background: its counts appear on the page.
  await expect
    .poll(
      async () => {
        await page.reload();
        return (await primary.getByTestId("sync-counts").textContent())?.trim();
      },
      { timeout: 30_000 },
    )
    .toBe("1 / 0 / 0");

  // Two-way, chosen on the hydrated page (the action form runs without a reload).
  await hydrated(page);
  await primary.getByLabel("How it syncs").selectOption("two_way");
  await primary.getByRole("button", { name: "Apply" }).click();
  await expect(primary).toHaveAttribute("data-mode", "two_way");

  // The event is in Calento's calendar.
  await page.goto("/calendar?view=day&date=2031-05-06");
  await arrived(page, /\/calendar/);
  await expect(page.getByText("Dentist (from Google)").first()).toBeVisible({ timeout: 30_000 });
});
