// Every main page, on a desktop and on a phone, as a person with some data sees it: axe-core
// finds no serious or critical violation (WCAG 2.1 A and AA and axe's best practices), and
// a full-page screenshot of each is kept as a test artifact (end2end/test-results/
// screenshots, not committed) for a person to look at.
import { join } from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { hydrated, password, uniqueEmail } from "./support";

const viewports = [
  { name: "desktop", viewport: { width: 1366, height: 850 }, hasTouch: false },
  { name: "phone", viewport: { width: 390, height: 844 }, hasTouch: true },
];

// The signed-in pages people open every day, then the public ones.
const signedIn = [
  ["calendar-day", "/calendar?view=day&date=2030-01-15"],
  ["calendar-week", "/calendar?view=week&date=2030-01-15"],
  ["calendar-month", "/calendar?view=month&date=2030-01-15"],
  ["calendar-agenda", "/calendar?view=agenda&date=2030-01-15"],
  ["event-card", "/calendar?view=week&date=2030-01-15&event=EVENT"],
  ["event-new", "/calendar?view=week&date=2030-01-15&new=2030-01-16T14:00"],
  ["today", "/today"],
  ["tasks", "/tasks"],
  ["focus", "/focus"],
  ["stats", "/stats"],
  ["availability", "/availability"],
  ["booking-links", "/booking-links"],
  ["bookings", "/bookings"],
  ["settings", "/settings"],
  ["settings-calendars", "/settings/calendars"],
  ["settings-tasks", "/settings/tasks"],
  ["settings-notifications", "/settings/notifications"],
  ["settings-security", "/settings/security"],
  ["settings-calendar-apps", "/settings/calendar-apps"],
  ["settings-connections", "/settings/connections"],
  ["welcome", "/welcome"],
  ["welcome-done", "/welcome?step=done"],
];

/** An account in Paris with an event on 15 January 2030, three tasks and a booking link. */
async function seed(page: Page) {
  const request = page.request;
  const email = uniqueEmail("axe");
  const registered = await request.post("/fn/register", {
    form: { email, password, name: "Ada Access", time_zone: "Europe/Paris" },
  });
  expect(registered.ok(), await registered.text()).toBeTruthy();
  const loggedIn = await request.post("/fn/login", { form: { email, password } });
  expect(loggedIn.ok(), await loggedIn.text()).toBeTruthy();
  const me = await (await request.get("/api/v1/me")).json();
  const event = await request.post("/api/v1/events", {
    data: { title: "Design review", start: "2030-01-15T10:00", end: "2030-01-15T11:30", location: "Room 4" },
  });
  expect(event.status(), await event.text()).toBe(201);
  for (const line of ["Reply to Sam tomorrow ~15m !1", "Write the report next fri ~1h", "Water the plants"]) {
    const captured = await request.post("/api/v1/capture", { data: { text: line, preview: false } });
    expect(captured.status(), await captured.text()).toBe(201);
  }
  const schedule = await request.post("/api/v1/availability/schedules", {
    data: {
      name: "Mornings",
      timezone: "Europe/Paris",
      rules: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: "09:00", end: "12:00" })),
    },
  });
  expect(schedule.status(), await schedule.text()).toBe(201);
  const link = await request.post("/api/v1/booking-links", {
    data: { slug: "intro", title: "Intro call", durations: [30], schedule_id: (await schedule.json()).id },
  });
  expect(link.status(), await link.text()).toBe(201);
  return { eventId: (await event.json()).id as string, bookingUrl: (await link.json()).url as string, user: me.username as string };
}

/** axe's serious and critical findings on the page, one line each (empty when there are none). */
async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
    .analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 4).join(", ")}`);
}

/** Switches the theme (light, dark, system) with the header's button, even behind a
 *  dialog, and waits until the page shows it. */
async function toggleTheme(page: Page) {
  const html = page.locator("html");
  const before = (await html.getAttribute("data-theme")) ?? "";
  await page.getByTestId("theme-toggle").evaluate((button) => (button as HTMLButtonElement).click());
  await expect(html).not.toHaveAttribute("data-theme", before);
}

async function shoot(page: Page, viewport: string, name: string) {
  const dir = join(test.info().project.outputDir, "screenshots");
  await page.screenshot({ path: join(dir, `${viewport}-${name}.png`), fullPage: true });
}

for (const { name: device, viewport, hasTouch } of viewports) {
  test.describe(`on a ${device}`, () => {
    test.use({ viewport, hasTouch, timezoneId: "Europe/Paris" });

    test("every main page has no serious or critical accessibility violation", async ({ page, browser }) => {
      test.setTimeout(240_000);
      // Each page is loaded afresh, so each one also proves it hydrates without an error.
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      const { eventId, bookingUrl } = await seed(page);
      const found: Record<string, string[]> = {};
      for (const [name, path] of signedIn) {
        await page.goto(path.replace("EVENT", eventId));
        await hydrated(page);
        await expect(page.locator("main")).toBeVisible();
        // In both colour schemes: the theme toggle switches between them.
        for (const theme of ["first", "second"]) {
          const problems = await violations(page);
          if (problems.length) found[`${name} (${theme} theme)`] = problems;
          if (theme === "first") {
            await shoot(page, device, name);
            await toggleTheme(page);
          }
        }
        await toggleTheme(page);
      }
      // The public pages, as a visitor without an account sees them.
      const visitor = await browser.newContext({ viewport, hasTouch, timezoneId: "America/New_York" });
      const anonymous = await visitor.newPage();
      for (const [name, path] of [
        ["login", "/login"],
        ["register", "/register"],
        ["booking-page", bookingUrl],
      ]) {
        await anonymous.goto(path);
        // The app's pages are scanned once hydrated, as the signed-in ones are (while the
        // WASM takes over, the document's title is briefly being replaced).
        if (name !== "booking-page") await hydrated(anonymous);
        await expect(anonymous.locator("main")).toBeVisible();
        const problems = await violations(anonymous);
        if (problems.length) found[name] = problems;
        await shoot(anonymous, device, name);
      }
      await visitor.close();
      expect(errors).toEqual([]);
      expect(found).toEqual({});
    });
  });
}
