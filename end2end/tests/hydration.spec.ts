// Every signed-in page hydrates: its WebAssembly starts on that page (not only on the
// first one opened), answers an interaction that needs it, and raises no error while it
// does, and loads a page's code only when that page is opened. Run against the release
// bundle too (CALENTO_E2E_PROFILE=release scripts/e2e).
import { expect, test, type Page } from "@playwright/test";
import { arrived, hydrated, register as registerAs } from "./support";

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
  "/settings/notifications",
  "/settings/tokens",
  "/settings/calendar-apps",
  "/settings/connections",
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
    // Every id is unique on the page (a label names exactly one field).
    const repeated = await page.evaluate(() => {
      const seen = new Map<string, number>();
      for (const el of Array.from(document.querySelectorAll("[id]"))) seen.set(el.id, (seen.get(el.id) ?? 0) + 1);
      return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    });
    expect(repeated, path).toEqual([]);
  }
});

test("moving between pages inside the app keeps the page loaded", async ({ page }) => {
  await register(page);
  await page.goto("/tasks");
  await hydrated(page);
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = "still here"));
  // The app's own navigation: the router swaps the page without a new document.
  await page.getByRole("link", { name: "Calendar", exact: true }).first().click();
  await arrived(page, /\/calendar/);
  await expect(page.getByTestId("time-grid").or(page.getByTestId("month-grid")).first()).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe("still here");
});

test("a page's code is loaded when the page is first opened, not before", async ({ page }) => {
  // Each page of the app is its own chunk (`split_…_route_view_….wasm`).
  const chunks: string[] = [];
  page.on("request", (request) => {
    const name = new URL(request.url()).pathname.split("/").pop() ?? "";
    if (name.startsWith("split_")) chunks.push(name);
  });
  await register(page);
  await page.goto("/today");
  await hydrated(page);
  expect(chunks.some((name) => name.startsWith("split___today_route_view_"))).toBe(true);
  expect(chunks.some((name) => name.startsWith("split___focus_route_view_"))).toBe(false);
  // Opening Focus from the menu fetches its chunk, and the page works.
  await page.getByRole("link", { name: "Focus", exact: true }).first().click();
  await arrived(page, /\/focus$/);
  expect(chunks.some((name) => name.startsWith("split___focus_route_view_"))).toBe(true);
  await expect(page.getByRole("heading", { name: "Focus", level: 1 })).toBeVisible();
});
