// The public booking page as an invitee in another zone uses it: a month of open days,
// slots in their own zone, the booking form, the booking's own page with "add to
// calendar", rescheduling and cancelling; with WebAssembly and with plain forms.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { arrived, password, uniqueEmail } from "./support";

/** The booking messages the e2e SMTP server received for `address` (scripts/e2e sets
 *  SMTP_SINK_DIR); the "confirm your email address" of a registration is left out. */
function mailTo(address: string): string[] {
  const dir = process.env.SMTP_SINK_DIR;
  if (!dir) throw new Error("SMTP_SINK_DIR is not set: run the suite with scripts/e2e");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".eml"))
    .map((f) => readFileSync(join(dir, f), "utf8"))
    .filter((text) => text.split(/\r?\n\r?\n/)[0].includes(address))
    .filter((text) => !text.includes("Subject: Confirm your email address"));
}


/** The invitee's pages are server-rendered; their small module marks the body once it has
 *  followed the browser's zone (or found nothing to do). */
async function enhanced(page: Page) {
  await expect(page.locator("body[data-enhanced='true']")).toHaveCount(1, { timeout: 30_000 });
}

/** A host in Paris with weekday hours 09:00–12:00 and a 30-minute link `intro` with a question. */
async function host(request: APIRequestContext, label: string, extra: Record<string, unknown> = {}) {
  const email = uniqueEmail(label);
  const registered = await request.post("/fn/register", {
    form: { email, password, name: "Hana Host", time_zone: "Europe/Paris" },
  });
  expect(registered.ok(), await registered.text()).toBeTruthy();
  // Registering does not sign in; logging in does.
  const loggedIn = await request.post("/fn/login", { form: { email, password } });
  expect(loggedIn.ok(), await loggedIn.text()).toBeTruthy();
  const me = await (await request.get("/api/v1/me")).json();
  const schedule = await request.post("/api/v1/availability/schedules", {
    data: {
      name: "Mornings",
      timezone: "Europe/Paris",
      rules: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: "09:00", end: "12:00" })),
    },
  });
  expect(schedule.status(), await schedule.text()).toBe(201);
  const link = await request.post("/api/v1/booking-links", {
    data: {
      slug: "intro",
      title: "Intro call",
      durations: [30, 60],
      schedule_id: (await schedule.json()).id,
      location: { kind: "video", value: "https://meet.example.org/hana" },
      questions: [{ id: "topic", label: "Topic", required: true }],
      ...extra,
    },
  });
  expect(link.status(), await link.text()).toBe(201);
  return { username: me.username as string, url: (await link.json()).url as string, email };
}

test.describe("booking with WebAssembly", () => {
  test.use({ timezoneId: "America/New_York", locale: "en-US" });

  test("an invitee in New York books a Paris morning slot and sees it in their own zone", async ({ page, request }) => {
    const { username, email: hostEmail } = await host(request, "book-js");
    const ada = uniqueEmail("ada");
    const wasm: string[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname.endsWith(".wasm")) wasm.push(r.url());
    });
    await page.goto(`/${username}/intro?month=2030-01`);
    await enhanced(page);
    // The browser's zone is picked up and the times follow it; the app's bundle is not loaded.
    await arrived(page, /tz=America%2FNew_York|tz=America\/New_York/);
    await expect(page.getByTestId("invitee-tz")).toHaveValue("America/New_York");
    expect(wasm.map((u) => new URL(u).pathname.replace(/\.[0-9a-f]{8,}\./, "."))).toEqual(["/pkg/calento_booking.wasm"]);
    await expect(page.getByTestId("host-name")).toHaveText("Hana Host");
    await expect(page.getByTestId("host-tz")).toContainText("Europe/Paris");
    await expect(page.getByTestId("month-title")).toHaveText("January 2030");
    // The video call's address is for those who book: not on the page, nor in its data.
    await expect(page.getByTestId("link-location")).toHaveText("Video call");
    expect(await page.content()).not.toContain("meet.example.org");
    // Weekdays only: 23 open days in January 2030 (1 January is a Tuesday).
    await expect(page.getByTestId("open-day")).toHaveCount(23);
    await page.locator('[data-testid="open-day"][data-date="2030-01-15"]').click();
    const slots = page.getByTestId("slot");
    // 09:00–12:00 in Paris is 03:00–06:00 in New York in winter: 6 half-hour slots.
    await expect(slots).toHaveCount(6);
    await expect(slots.first()).toHaveText("3:00 AM");
    // The 24-hour switch.
    await page.getByTestId("clock-switch").click();
    await expect(page.getByTestId("slot").first()).toHaveText("03:00");
    await page.getByTestId("slot").nth(1).click();
    const form = page.getByTestId("booking-form");
    await expect(form.getByTestId("chosen-time")).toContainText("Tuesday 15 January 2030, 03:30");
    // A missing answer is named and nothing is booked.
    await form.getByTestId("book-name").fill("Ada Lovelace");
    await form.getByTestId("book-email").fill(ada);
    await form.getByTestId("confirm-booking").click();
    await expect(form).toContainText("Answer “Topic”.");
    // What was typed is still there.
    await expect(form.getByTestId("book-name")).toHaveValue("Ada Lovelace");
    await expect(form.getByTestId("book-email")).toHaveValue(ada);
    await form.getByTestId("answer").fill("Analytical engines");
    await form.getByTestId("confirm-booking").click();
    await arrived(page, /\/booking\/[0-9a-f]{64}\?new=1&clock=24$/);
    await expect(page.getByTestId("booking-status")).toHaveText("You are booked");
    // The 24-hour choice carries over to the booking's page.
    await expect(page.getByTestId("booking-when")).toContainText("Tuesday 15 January 2030, 03:30 – 04:00");
    await expect(page.getByTestId("booking-when")).toContainText("America/New_York");
    await expect(page.getByText("https://meet.example.org/hana")).toBeVisible();
    const ics = await page.request.get((await page.getByTestId("add-to-calendar").getAttribute("href")) ?? "");
    expect(await ics.text()).toContain("DTSTART:20300115T083000Z");
    // The slot is gone for the next invitee, and the host has it on their calendar.
    await page.goto(`/${username}/intro?month=2030-01&date=2030-01-15&tz=Europe/Paris&clock=24`);
    await enhanced(page);
    await expect(page.getByTestId("slot")).toHaveCount(5);
    await expect(page.getByTestId("slot").filter({ hasText: "09:30" })).toHaveCount(0);
    const bookings = (await (await request.get("/api/v1/bookings")).json()).items;
    expect(bookings).toHaveLength(1);
    expect(bookings[0].start).toBe("2030-01-15T08:30:00Z");
    const events = await (await request.get("/api/v1/occurrences?from=2030-01-15T00:00:00Z&to=2030-01-16T00:00:00Z")).json();
    expect(events.map((e: { summary: string }) => e.summary)).toContain("Intro call with Ada Lovelace");
    // Both sides got their email over SMTP: the invitee's confirmation carries the invitation.
    await expect.poll(() => mailTo(ada).length, { timeout: 20_000 }).toBe(1);
    await expect.poll(() => mailTo(hostEmail).length, { timeout: 20_000 }).toBe(1);
    const confirmation = mailTo(ada)[0];
    expect(confirmation).toContain("Subject: Confirmed: Intro call with Hana Host");
    expect(confirmation).toMatch(/text\/calendar;[^\n]*(\n[ \t][^\n]*)*method=("?)REQUEST\1/i);
    expect(mailTo(hostEmail)[0]).toContain("Subject: New booking: Intro call with Ada Lovelace");
  });

  test("the invitee reschedules and then cancels from their booking's page", async ({ page, request }) => {
    const { username } = await host(request, "manage-js");
    const made = await request.post(`/api/v1/public/${username}/intro/bookings`, {
      data: { start: "2030-01-16T08:00:00Z", name: "Bo", email: "bo@example.org", answers: { topic: "Plans" }, timezone: "America/New_York" },
    });
    expect(made.status(), await made.text()).toBe(201);
    const manage = (await made.json()).manage_url as string;
    await page.goto(manage);
    await enhanced(page);
    await expect(page.getByTestId("booking-status")).toHaveText("You are booked");
    await page.getByTestId("reschedule").click();
    await enhanced(page);
    await expect(page.getByTestId("rescheduling")).toContainText("Moving your booking");
    // It opens on the booking's month.
    await expect(page.getByTestId("month-title")).toHaveText("January 2030");
    await page.locator('[data-testid="open-day"][data-date="2030-01-17"]').click();
    await page.getByTestId("slot").first().click();
    await page.getByTestId("move-form").getByTestId("confirm-move").click();
    await arrived(page, /\?moved=1$/);
    await expect(page.getByTestId("booking-when")).toContainText("Thursday 17 January 2030");
    await page.getByTestId("cancel-reason").fill("Something came up");
    await page.getByTestId("cancel-booking").click();
    await expect(page.getByTestId("booking-status")).toHaveText("This booking is cancelled");
    const cancelled = (await (await request.get("/api/v1/bookings?status=cancelled")).json()).items;
    expect(cancelled[0].reason).toBe("Something came up");
  });
});

test.describe("booking without JavaScript", () => {
  test.use({ javaScriptEnabled: false, locale: "de-DE" });

  test("an invitee books, is told what to fix, and cancels with plain forms", async ({ page, request }) => {
    const { username } = await host(request, "book-nojs");
    await page.goto(`/${username}/intro?month=2030-01`);
    // No script: the host's zone until the invitee picks theirs.
    await page.getByTestId("invitee-tz").fill("Asia/Tokyo");
    await page.getByTestId("change-tz").click();
    await arrived(page, /tz=Asia%2FTokyo/);
    await page.getByRole("link", { name: "60 min" }).click();
    await page.locator('[data-testid="open-day"][data-date="2030-01-15"]').click();
    // 09:00–12:00 Paris is 17:00–20:00 Tokyo; 60-minute slots every hour, 24-hour clock for de-DE.
    await expect(page.getByTestId("slot")).toHaveText(["17:00", "18:00", "19:00"]);
    await page.getByTestId("slot").nth(1).click();
    const form = page.getByTestId("booking-form");
    await form.getByTestId("book-name").fill("Kiyoshi");
    await form.getByTestId("book-email").fill("not an email");
    await form.getByTestId("answer").fill("Trains");
    await form.getByTestId("confirm-booking").click();
    // Back on the same slot, with the message beside the field.
    await expect(page.getByTestId("booking-form")).toContainText("Enter an email address like name@example.com.");
    // Only the wrong field needs typing again.
    await expect(page.getByTestId("book-name")).toHaveValue("Kiyoshi");
    await expect(page.getByTestId("answer")).toHaveValue("Trains");
    await page.getByTestId("book-email").fill("kiyoshi@example.org");
    await page.getByTestId("confirm-booking").click();
    await arrived(page, /\/booking\/[0-9a-f]{64}\?new=1$/);
    await expect(page.getByTestId("booking-status")).toHaveText("You are booked");
    await expect(page.getByTestId("booking-when")).toContainText("18:00 – 19:00");
    await page.getByTestId("cancel-booking").click();
    await expect(page.getByTestId("booking-status")).toHaveText("This booking is cancelled");
  });

  test("a secret link needs its key and an unknown link is not found", async ({ page, request }) => {
    const { username, url } = await host(request, "secret-nojs", { secret: true });
    const plain = await page.goto(`/${username}/intro`);
    expect(plain?.status()).toBe(404);
    await page.goto(`${url}&month=2030-01`);
    await expect(page.getByTestId("link-title")).toHaveText("Intro call");
    await page.locator('[data-testid="open-day"]').first().click();
    await expect(page.getByTestId("slot").first()).toHaveAttribute("href", /key=/);
    const missing = await page.goto(`/${username}/nothing-here`);
    expect(missing?.status()).toBe(404);
  });
});
