// Every signed-in page hydrates: its WebAssembly starts on that page (not only on the
// first one opened), answers an interaction that needs it, and raises no error while it
// does. Run against the release bundle too (CALENTO_E2E_PROFILE=release scripts/e2e).
import { expect, test, type Page } from "@playwright/test";
import { hydrated, register as registerAs } from "./support";

const register = (page: Page) => registerAs(page, "Hy Drate", "hydrate");

// The pages a signed-in person opens, each loaded afresh (a full page load, so each one
// hydrates on its own).
const pages = [
  "/calendar?view=day",
  "/calendar?view=week",
  "/calendar?view=month",
  "/calendar?view=agenda",
  "/today",
  "/tasks",
  "/focus",
  "/stats",
  "/availability",
  "/booking-links",
  "/bookings",
  "/settings",
  "/settings/calendars",
  "/settings/tasks",
  "/settings/tokens",
  "/settings/security",
];

test("every signed-in page hydrates and answers in place, without an error", async ({ page }) => {
  test.setTimeout(120_000);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" && /panicked|hydrat|unreachable/i.test(message.text())) errors.push(message.text());
  });
  await register(page);
  const html = page.locator("html");
  for (const path of pages) {
    await page.goto(path);
    await hydrated(page);
    // A marker on the window survives only if nothing reloads the page.
    await page.evaluate(() => ((window as unknown as { marker: string }).marker = "still here"));
    const before = await html.getAttribute("data-theme");
    await page.getByTestId("theme-toggle").click();
    await expect(html, path).not.toHaveAttribute("data-theme", before ?? "");
    expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker), path).toBe("still here");
    expect(errors, path).toEqual([]);
  }
});

test("moving between pages inside the app keeps the page loaded", async ({ page }) => {
  await register(page);
  await page.goto("/tasks");
  await hydrated(page);
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = "still here"));
  // The app's own navigation: the router swaps the page without a new document.
  await page.getByRole("link", { name: "Calendar", exact: true }).first().click();
  await expect(page).toHaveURL(/\/calendar/);
  await expect(page.getByTestId("time-grid").or(page.getByTestId("month-grid")).first()).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe("still here");
});
