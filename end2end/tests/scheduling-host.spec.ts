// The host's side of scheduling: availability schedules (split days, overrides), booking
// links (every setting, listed with their public address, edited), the same with plain
// forms, and bookings (upcoming, cancelled with a reason, moved, approved).
import { expect, test, type Page } from "@playwright/test";
import { arrived, hydrated, registerAccount, uniqueEmail } from "./support";

const register = (page: Page, label: string, js = true) =>
  registerAccount(page, { name: "Hos Ting", email: uniqueEmail(label), timeZone: "Europe/Paris", js });

async function username(page: Page): Promise<string> {
  const me = await page.request.get("/api/v1/me");
  expect(me.ok()).toBeTruthy();
  return (await me.json()).username;
}

const day = (page: Page, n: number) => page.getByTestId("schedule-editor").locator(`[data-testid="day"][data-day="${n}"]`);

/**
 * Creates a link from the short form on /booking-links (the page must be open): it opens on
 * its own page, where a question or approval is set and saved; ends on the list.
 */
async function createLink(page: Page, title: string, durations: string, opts: { approval?: boolean; question?: string } = {}) {
  const form = page.getByTestId("new-link-form");
  await form.getByLabel("Title", { exact: true }).fill(title);
  await form.getByLabel("Durations (minutes)").fill(durations);
  await form.getByTestId("create-link").click();
  await arrived(page, /\/booking-links\?edit=[^&]+&created=1$/);
  await expect(page.getByTestId("created")).toContainText(`“${title}” is ready to share`);
  const full = page.getByTestId("link-form");
  await expect(full.getByLabel("Title", { exact: true })).toHaveValue(title);
  if (opts.question) {
    await full.getByTestId("add-question").click();
    await full.getByTestId("question-label").last().fill(opts.question);
    await full.getByTestId("question-required").last().selectOption("yes");
  }
  if (opts.approval) await full.getByTestId("requires-approval").check();
  await full.getByTestId("save-link").click();
  await arrived(page, /\/booking-links$/);
  await expect(page.getByTestId("link-card").filter({ hasText: title })).toHaveCount(1);
  // The list's form is empty again: a second click cannot make the link twice.
  await expect(page.getByTestId("new-link-form").getByLabel("Title", { exact: true })).toHaveValue("");
}

async function book(page: Page, user: string, slug: string, start: string, name: string) {
  const reply = await page.request.post(`/api/v1/public/${user}/${slug}/bookings`, {
    data: { start, name, email: `${name.toLowerCase()}@example.org`, timezone: "Europe/Paris" },
  });
  expect(reply.status(), await reply.text()).toBe(201);
  return reply.json();
}

test.describe("host scheduling with WebAssembly", () => {
  test.use({ timezoneId: "Europe/Paris" });

  test("a schedule gets a split day, copies Monday, and has dates with other hours", async ({ page }) => {
    await register(page, "avail");
    await page.goto("/availability");
    await hydrated(page);
    await expect(page.getByTestId("no-schedules")).toBeVisible();
    await page.getByTestId("new-schedule").click();
    await page.getByTestId("new-schedule-name").fill("Office hours");
    await page.getByTestId("create-schedule").click();
    await arrived(page, /\/availability\?schedule=/);
    const editor = page.getByTestId("schedule-editor");
    await expect(editor.getByRole("heading", { name: "Office hours" })).toBeVisible();

    // Monday: 09:00–12:00 and 13:00–17:00.
    const monday = day(page, 1);
    await expect(monday.getByTestId("range")).toHaveCount(1);
    await monday.getByTestId("range-end").first().fill("12:00");
    await monday.getByTestId("add-range").click();
    await expect(monday.getByTestId("range")).toHaveCount(2);
    await monday.getByTestId("range-start").nth(1).fill("13:00");
    await monday.getByTestId("range-end").nth(1).fill("17:00");
    // Copied to Tuesday–Friday; then Friday is switched off and Saturday on.
    await editor.getByTestId("copy-monday").click();
    await expect(day(page, 4).getByTestId("range")).toHaveCount(2);
    await day(page, 5).getByTestId("day-on").uncheck();
    await expect(day(page, 5).getByTestId("range").first()).toBeHidden();
    await day(page, 6).getByTestId("day-on").check();
    await expect(day(page, 6).getByTestId("range")).toHaveCount(1);
    await editor.getByLabel("Time zone").fill("America/New_York");
    await editor.getByTestId("save-schedule").click();
    await expect(page.getByTestId("schedule-saved")).toHaveText("Saved.");

    // What was saved is what the page shows after a reload.
    await page.reload();
    await hydrated(page);
    await expect(day(page, 2).getByTestId("range")).toHaveCount(2);
    await expect(day(page, 2).getByTestId("range-start").nth(1)).toHaveValue("13:00");
    await expect(day(page, 5).getByTestId("day-on")).not.toBeChecked();
    await expect(day(page, 6).getByTestId("range-end").first()).toHaveValue("17:00");
    await expect(page.getByTestId("schedule-editor").getByLabel("Time zone")).toHaveValue("America/New_York");

    // A range that ends before it starts is reported beside its day.
    await day(page, 3).getByTestId("range-end").nth(1).fill("12:30");
    await page.getByTestId("save-schedule").click();
    await expect(day(page, 3).getByText("The end must be after the start.")).toBeVisible();

    // Dates with other hours: one unavailable, one with its own hours; one removed.
    const overrides = page.getByTestId("overrides");
    await overrides.getByTestId("override-date").fill("2030-01-15");
    await overrides.getByTestId("add-override").click();
    await expect(page.getByTestId("override").filter({ hasText: "2030-01-15" })).toContainText("Unavailable all day");
    await page.getByTestId("overrides").getByTestId("override-date").fill("2030-01-16");
    await page.getByTestId("overrides").getByTestId("override-hours").check();
    await page.getByTestId("overrides").getByTestId("range-start").first().fill("10:00");
    await page.getByTestId("overrides").getByTestId("range-end").first().fill("12:00");
    await page.getByTestId("overrides").getByTestId("add-override").click();
    await expect(page.getByTestId("override").filter({ hasText: "2030-01-16" })).toContainText("10:00–12:00");
    await page.getByTestId("override").filter({ hasText: "2030-01-15" }).getByTestId("remove-override").click();
    await expect(page.getByTestId("override")).toHaveCount(1);
  });

  test("on the 12-hour clock, hours are shown and read as AM and PM", async ({ page }) => {
    await register(page, "avail12");
    await page.goto("/settings");
    await hydrated(page);
    await page.getByLabel("Clock").selectOption("12h");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByTestId("saved")).toBeVisible();

    await page.goto("/availability");
    await hydrated(page);
    await page.getByTestId("new-schedule").click();
    await page.getByTestId("new-schedule-name").fill("Afternoons");
    await page.getByTestId("create-schedule").click();
    await arrived(page, /\/availability\?schedule=/);
    const monday = day(page, 1);
    // A new schedule's hours, in the person's clock.
    await expect(monday.getByTestId("range-start").first()).toHaveValue("9 AM");
    await expect(monday.getByTestId("range-end").first()).toHaveValue("5 PM");
    await monday.getByTestId("range-end").first().fill("12 pm");
    // The next range starts where the last ends, an hour long.
    await monday.getByTestId("add-range").click();
    await expect(monday.getByTestId("range-start").nth(1)).toHaveValue("12 PM");
    await expect(monday.getByTestId("range-end").nth(1)).toHaveValue("1 PM");
    await monday.getByTestId("range-start").nth(1).fill("1:30 pm");
    await monday.getByTestId("range-end").nth(1).fill("17:45");
    await page.getByTestId("save-schedule").click();
    await expect(page.getByTestId("schedule-saved")).toHaveText("Saved.");

    // Stored in 24 hours, shown in 12 after a reload.
    const schedules = await (await page.request.get("/api/v1/availability/schedules")).json();
    const rules = schedules[0].rules.filter((r: { weekday: number }) => r.weekday === 1);
    expect(rules.map((r: { start: string; end: string }) => `${r.start}-${r.end}`)).toEqual(["09:00-12:00", "13:30-17:45"]);
    await page.reload();
    await hydrated(page);
    await expect(day(page, 1).getByTestId("range-start").nth(1)).toHaveValue("1:30 PM");
    await expect(day(page, 1).getByTestId("range-end").nth(1)).toHaveValue("5:45 PM");

    // A date with other hours is listed in the same clock.
    const overrides = page.getByTestId("overrides");
    await overrides.getByTestId("override-date").fill("2030-01-16");
    await overrides.getByTestId("override-hours").check();
    await expect(overrides.getByTestId("range-start").first()).toHaveValue("9 AM");
    await overrides.getByTestId("range-end").first().fill("11:30 am");
    await overrides.getByTestId("add-override").click();
    await expect(page.getByTestId("override").filter({ hasText: "2030-01-16" })).toContainText("9 AM–11:30 AM");

    // Peak hours under Settings → Tasks & focus too.
    await page.goto("/settings/tasks");
    await hydrated(page);
    await page.getByLabel("Peak hours from").fill("2 pm");
    await page.getByLabel("to", { exact: true }).fill("16:30");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByTestId("settings-saved")).toHaveText("Saved.");
    await page.reload();
    await hydrated(page);
    await expect(page.getByLabel("Peak hours from")).toHaveValue("2 PM");
    await expect(page.getByLabel("to", { exact: true })).toHaveValue("4:30 PM");
  });

  test("a link with two durations and a question is listed with its address and can be edited", async ({ page }) => {
    await register(page, "links");
    const user = await username(page);
    await page.goto("/booking-links");
    await hydrated(page);
    await expect(page.getByTestId("no-links")).toBeVisible();
    await createLink(page, "Intro call", "30, 60", { question: "Company" });
    const card = page.getByTestId("link-card").filter({ hasText: "Intro call" });
    await expect(card.getByTestId("link-url")).toHaveText(new RegExp(`^http://[^/]+/${user}/intro-call$`));
    await expect(card.getByTestId("link-about")).toContainText("30 or 60 min");
    await expect(card.getByTestId("secret-badge")).toHaveCount(0);
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
    await card.getByTestId("copy-url").click();
    await expect(card.getByTestId("copy-url")).toHaveText("Copied");
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toMatch(new RegExp(`/${user}/intro-call$`));
    // The public API offers it with both durations and the question.
    const info = await (await page.request.get(`/api/v1/public/${user}/intro-call`)).json();
    expect(info.durations).toEqual([30, 60]);
    expect(info.questions[0]).toMatchObject({ label: "Company", required: true });

    // Edited: a new title, secret, a rolling window; the question stays.
    await card.getByTestId("edit-link").click();
    await arrived(page, /\?edit=/);
    const form = page.getByTestId("link-form");
    await expect(form.getByTestId("question-label")).toHaveValue("Company");
    await form.getByLabel("Title", { exact: true }).fill("Intro chat");
    await form.getByTestId("secret").check();
    await form.getByTestId("window-rolling").check();
    await form.getByLabel("Days ahead", { exact: true }).fill("30");
    await form.getByTestId("save-link").click();
    await arrived(page, /\/booking-links$/);
    const edited = page.getByTestId("link-card").filter({ hasText: "Intro chat" });
    await expect(edited.getByTestId("secret-badge")).toBeVisible();
    await expect(edited.getByTestId("link-url")).toHaveText(new RegExp(`/${user}/intro-call\\?key=[0-9a-f]+$`));

    // A bad setting keeps the form with the message beside the field, and makes nothing.
    await page.getByTestId("new-link-form").getByLabel("Title", { exact: true }).fill("Broken");
    await page.getByTestId("new-link-form").getByLabel("Durations (minutes)").fill("2");
    await page.getByTestId("new-link-form").getByTestId("create-link").click();
    await expect(page.getByTestId("new-link-form").getByText("A duration is from 5 minutes to 12 hours.")).toBeVisible();
    await expect(page.getByTestId("link-card")).toHaveCount(1);

    // Switched off, then deleted.
    await edited.getByTestId("toggle-active").click();
    await expect(page.getByTestId("link-card").filter({ hasText: "Intro chat" }).getByTestId("off-badge")).toBeVisible();
    await page.getByTestId("link-card").filter({ hasText: "Intro chat" }).getByTestId("delete-link").click();
    await expect(page.getByTestId("no-links")).toBeVisible();
  });

  test("bookings appear under Upcoming, move, are cancelled with a reason, and pending ones are approved", async ({ page }) => {
    await register(page, "bookings");
    const user = await username(page);
    await page.goto("/booking-links");
    await hydrated(page);
    await createLink(page, "Chat", "30");
    await createLink(page, "Vetted", "30", { approval: true });

    // Monday 14 January 2030, 10:00 in Paris (working hours by default).
    await book(page, user, "chat", "2030-01-14T09:00:00Z", "Ivy");
    await page.goto("/bookings");
    await hydrated(page);
    const row = page.getByTestId("booking").filter({ hasText: "Ivy" });
    await expect(row.getByTestId("booking-when")).toHaveText("Mon 14 Jan 2030, 10:00 – 10:30");
    await expect(row.getByTestId("booking-title")).toHaveText("Chat");
    await expect(row.getByTestId("booking-status")).toHaveText("Confirmed");

    // Moved to 14:00 (the host's time).
    await row.getByTestId("reschedule-open").click();
    await row.getByTestId("reschedule-start").fill("2030-01-14T14:00");
    await row.getByTestId("reschedule").click();
    await expect(page.getByTestId("booking").filter({ hasText: "Ivy" }).getByTestId("booking-when")).toHaveText(
      "Mon 14 Jan 2030, 14:00 – 14:30",
    );

    // Cancelled with a reason.
    const moved = page.getByTestId("booking").filter({ hasText: "Ivy" });
    await moved.getByTestId("cancel-open").click();
    await moved.getByTestId("cancel-reason").fill("Something came up");
    await moved.getByTestId("cancel-booking").click();
    await expect(page.getByTestId("no-bookings")).toBeVisible();
    await page.getByTestId("tab-cancelled").click();
    await arrived(page, /tab=cancelled/);
    const cancelled = page.getByTestId("booking").filter({ hasText: "Ivy" });
    await expect(cancelled.getByTestId("booking-status")).toHaveText("Cancelled");
    await expect(cancelled.getByTestId("booking-reason")).toHaveText("Something came up");

    // Waiting for approval, then approved.
    await book(page, user, "vetted", "2030-01-15T09:00:00Z", "Pat");
    await page.getByTestId("tab-pending").click();
    await arrived(page, /tab=pending/);
    const pending = page.getByTestId("booking").filter({ hasText: "Pat" });
    await expect(pending.getByTestId("booking-status")).toHaveText("Awaiting approval");
    await pending.getByTestId("approve").click();
    await expect(page.getByTestId("no-bookings")).toBeVisible();
    await page.getByTestId("tab-upcoming").click();
    await expect(page.getByTestId("booking").filter({ hasText: "Pat" }).getByTestId("booking-status")).toHaveText("Confirmed");
  });
});

test.describe("host scheduling without JavaScript", () => {
  test.use({ javaScriptEnabled: false, timezoneId: "Europe/Paris" });

  test("links and schedules are made with plain forms", async ({ page }) => {
    await register(page, "nojs-host", false);
    await page.goto("/booking-links");
    const form = page.getByTestId("new-link-form");
    // An error comes back beside its field.
    await form.getByLabel("Title", { exact: true }).fill("");
    await form.getByTestId("create-link").click();
    await arrived(page, /\/booking-links\?err=/);
    await expect(page.getByTestId("new-link-form").getByText("Give the link a title.")).toBeVisible();

    // Created from the short form, it opens on its own page, where the rest is set.
    await page.getByTestId("new-link-form").getByLabel("Title", { exact: true }).fill("Plain link");
    await page.getByTestId("new-link-form").getByLabel("Durations (minutes)").fill("15, 45");
    await page.getByTestId("new-link-form").getByTestId("create-link").click();
    await arrived(page, /\/booking-links\?edit=[^&]+&created=1$/);
    await expect(page.getByTestId("created")).toContainText("/plain-link");
    await page.getByTestId("link-form").getByTestId("question-label").fill("Topic");
    await page.getByTestId("link-form").getByTestId("save-link").click();
    await arrived(page, /\/booking-links$/);
    const card = page.getByTestId("link-card").filter({ hasText: "Plain link" });
    await expect(card.getByTestId("link-url")).toHaveText(/\/plain-link$/);
    await expect(card.getByTestId("link-about")).toContainText("15 or 45 min");

    // Editing keeps the question and takes a second one from the empty row.
    await card.getByTestId("edit-link").click();
    await arrived(page, /\?edit=/);
    await expect(page.getByTestId("question-label").first()).toHaveValue("Topic");
    await page.getByTestId("question-label").last().fill("Phone");
    await page.getByTestId("link-form").getByTestId("save-link").click();
    await arrived(page, /\/booking-links$/);

    // The schedule the link got: Saturday switched on, Monday's second range from the empty row.
    await page.goto("/availability");
    const saturday = day(page, 6);
    await saturday.getByTestId("day-on").check();
    await day(page, 1).getByTestId("range-end").first().fill("12:00");
    await day(page, 1).getByTestId("blank-range").getByLabel("Monday from (new range)").fill("14:00");
    await day(page, 1).getByTestId("blank-range").getByLabel("Monday to (new range)").fill("18:00");
    await page.getByTestId("save-schedule").click();
    await arrived(page, /\/availability\?schedule=/);
    await expect(day(page, 6).getByTestId("range-start")).toHaveValue("09:00");
    await expect(day(page, 1).getByTestId("range")).toHaveCount(2);
    await expect(day(page, 1).getByTestId("range-start").nth(1)).toHaveValue("14:00");

    // An override, added and listed.
    await page.getByTestId("override-date").fill("2030-02-01");
    await page.getByTestId("add-override").click();
    await expect(page.getByTestId("override")).toContainText("2030-02-01");
  });
});
