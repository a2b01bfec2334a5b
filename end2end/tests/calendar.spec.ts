// What a person does in the calendar: views, creating, opening, editing with the three
// scopes of a repeating event, dragging, deleting, keyboard shortcuts, and the same
// basics without JavaScript.
import { expect, test, type Page } from "@playwright/test";
import { arrived, hydrated, registerAccount, uniqueEmail } from "./support";

const register = (page: Page, label: string) =>
  registerAccount(page, { name: "Cal Endar", email: uniqueEmail(label), timeZone: "Europe/Paris" });

/** Opens the week of Monday 14 January 2030 and waits for the grid. */
async function week(page: Page, date = "2030-01-14") {
  await page.goto(`/calendar?view=week&date=${date}`);
  await hydrated(page);
  await expect(page.getByTestId("time-grid")).toBeVisible();
}

/** Creates an event from the dialog, starting on `date` at `start`. */
async function createEvent(page: Page, title: string, date: string, start: string, end: string, repeat?: string) {
  await page.goto(`/calendar?view=week&date=${date}&new=${date}T${start}`);
  await hydrated(page);
  const dialog = page.getByTestId("event-dialog");
  await expect(dialog).toBeVisible();
  await dialog.getByTestId("event-title").fill(title);
  await dialog.getByTestId("end-time").fill(end);
  if (repeat) await dialog.getByTestId("repeat").selectOption({ label: repeat });
  await dialog.getByTestId("save-event").click();
  await expect(dialog).toBeHidden();
}

const events = (page: Page, name: string) => page.getByTestId("event").filter({ hasText: name });

/** Opens an event (its card) and then its full form with "Edit". */
async function editEvent(page: Page, name: string) {
  await events(page, name).getByRole("link").click();
  await page.getByTestId("event-card").getByTestId("edit-event").click();
  await expect(page.getByTestId("event-dialog")).toBeVisible();
}

test.describe("calendar with WebAssembly", () => {
  test.use({ timezoneId: "Europe/Paris" });

  test("clicking an empty hour creates an event that shows in the week", async ({ page }) => {
    await register(page, "create");
    await week(page);
    await expect(page.getByTestId("calendar-title")).toHaveText("14 – 20 January 2030");
    // Only the view shown is the current page among the toolbar's links.
    await expect(page.locator('.calendar-toolbar [aria-current="page"]')).toHaveText(["Week"]);
    await page.locator('.day-column[data-date="2030-01-16"] .slot').nth(10).click();
    // A small popover, its title ready for typing.
    const dialog = page.getByTestId("quick-create");
    await expect(dialog.getByTestId("event-title")).toBeFocused();
    await expect(dialog.getByTestId("start-date")).toHaveValue("2030-01-16");
    await expect(dialog.getByTestId("start-time")).toHaveValue("10:00");
    await expect(dialog.getByTestId("end-time")).toHaveValue("11:00");
    await dialog.getByTestId("event-title").fill("Dentist");
    await dialog.getByTestId("save-event").click();
    await expect(dialog).toBeHidden();
    const block = events(page, "Dentist");
    await expect(block).toHaveCount(1);
    await expect(block).toContainText("10:00 – 11:00");
    // It lives in Wednesday's column.
    await expect(page.locator('.day-column[data-date="2030-01-16"]').getByText("Dentist")).toBeVisible();
  });

  test("the quick popover reads a day, a time and a length from the title, and hands them to the full form", async ({ page }) => {
    await register(page, "quick");
    await week(page);
    await page.locator('.day-column[data-date="2030-01-16"] .slot').nth(10).click();
    const quick = page.getByTestId("quick-create");
    const title = quick.getByTestId("event-title");
    // A time and a length: the clicked day keeps, the fields follow as it is typed.
    await title.pressSequentially("Review 15:00 for 45m");
    await expect(quick.getByTestId("start-time")).toHaveValue("15:00");
    await expect(quick.getByTestId("end-time")).toHaveValue("15:45");
    await expect(quick.getByTestId("quick-when")).toContainText("Review");
    // Deleting it brings the clicked hour back.
    await title.fill("");
    await title.pressSequentially("Review");
    await expect(quick.getByTestId("start-time")).toHaveValue("10:00");
    await expect(quick.getByTestId("end-time")).toHaveValue("11:00");
    // "More options": the whole form, with what was typed.
    await title.fill("");
    await title.pressSequentially("Review 15:00 for 45m");
    await quick.getByTestId("more-options").click();
    const dialog = page.getByTestId("event-dialog");
    await expect(dialog.getByTestId("event-title")).toHaveValue("Review");
    await expect(dialog.getByTestId("start-date")).toHaveValue("2030-01-16");
    await expect(dialog.getByTestId("start-time")).toHaveValue("15:00");
    await expect(dialog.getByTestId("end-time")).toHaveValue("15:45");
    await dialog.getByTestId("repeat").selectOption({ label: "Weekly on Wednesday" });
    await dialog.getByTestId("save-event").click();
    await expect(dialog).toBeHidden();
    await expect(events(page, "Review")).toContainText("15:00 – 15:45");
    // A day said in words is from today: "tomorrow" is tomorrow, whatever week is shown.
    await page.locator('.day-column[data-date="2030-01-17"] .slot').nth(9).click();
    await quick.getByTestId("event-title").pressSequentially("lunch with Sam tomorrow 12:30 for 1h");
    const tomorrow = new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Paris" }).format(new Date(Date.now() + 86_400_000));
    await expect(quick.getByTestId("start-date")).toHaveValue(tomorrow);
    await expect(quick.getByTestId("start-time")).toHaveValue("12:30");
    await expect(quick.getByTestId("end-time")).toHaveValue("13:30");
    await quick.getByTestId("save-event").click();
    await expect(quick).toBeHidden();
    await page.goto(`/calendar?view=day&date=${tomorrow}`);
    await hydrated(page);
    await expect(events(page, "lunch with Sam")).toContainText("12:30 – 13:30");
    await expect(events(page, "tomorrow")).toHaveCount(0);
  });

  test("without JavaScript the quick popover is a form, and the server reads the title the same way", async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false, timezoneId: "Europe/Paris" });
    const page = await context.newPage();
    await registerAccount(page, { name: "No Script", email: uniqueEmail("quick-nojs"), timeZone: "Europe/Paris", js: false });
    await page.goto("/calendar?view=week&date=2030-01-14");
    await page.locator('.day-column[data-date="2030-01-15"] .slot').nth(9).click();
    const quick = page.getByTestId("quick-create");
    await quick.getByTestId("event-title").fill("Planning at 14:00 for 90m");
    await quick.getByTestId("save-event").click();
    await expect(page).toHaveURL(/date=2030-01-14/);
    await expect(events(page, "Planning")).toContainText("14:00 – 15:30");
    await context.close();
  });

  test("a bad form keeps the dialog open with the field's message and saves nothing", async ({ page }) => {
    await register(page, "invalid");
    await page.goto("/calendar?view=week&date=2030-01-14&new=2030-01-14T09:00");
    await hydrated(page);
    const dialog = page.getByTestId("event-dialog");
    await dialog.getByTestId("end-time").fill("08:00");
    await dialog.getByTestId("save-event").click();
    await expect(dialog.getByText("Give the event a title.")).toBeVisible();
    await expect(dialog.getByText("The end must be after the start.")).toBeVisible();
    await expect(page.getByTestId("event")).toHaveCount(0);
  });

  test("a weekly event can be edited for one occurrence, the following ones, and all", async ({ page }) => {
    await register(page, "scopes");
    await createEvent(page, "Standup", "2030-01-14", "09:00", "09:30", "Weekly on Monday");
    await page.goto("/calendar?view=month&date=2030-01-14");
    await hydrated(page);
    await expect(events(page, "Standup")).toHaveCount(4); // the Mondays shown from 14 Jan to 10 Feb

    // This event: rename 21 January only.
    await week(page, "2030-01-21");
    await editEvent(page, "Standup");
    let dialog = page.getByTestId("event-dialog");
    await expect(dialog.getByTestId("repeats")).toContainText("Weekly on Monday");
    await dialog.getByTestId("event-title").fill("Standup (long)");
    await dialog.getByTestId("save-scope").getByLabel("This event").check();
    await dialog.getByTestId("save-event").click();
    await expect(dialog).toBeHidden();
    await expect(events(page, "Standup (long)")).toHaveCount(1);
    await week(page, "2030-01-28");
    await expect(events(page, "Standup")).toHaveText(/Standup\s*09:00/);

    // This and following from 4 February: renamed "Sync".
    await week(page, "2030-02-04");
    await editEvent(page, "Standup");
    dialog = page.getByTestId("event-dialog");
    await dialog.getByTestId("event-title").fill("Sync");
    await dialog.getByTestId("save-scope").getByLabel("This and following events").check();
    await dialog.getByTestId("save-event").click();
    await expect(dialog).toBeHidden();
    await expect(events(page, "Sync")).toHaveCount(1);
    await week(page, "2030-02-11");
    await expect(events(page, "Sync")).toHaveCount(1);
    await week(page, "2030-01-28");
    await expect(events(page, "Standup")).toHaveCount(1);

    // All events (of the first part): an hour later.
    await editEvent(page, "Standup");
    dialog = page.getByTestId("event-dialog");
    await dialog.getByTestId("start-time").fill("10:00");
    await dialog.getByTestId("end-time").fill("10:30");
    await dialog.getByTestId("save-scope").getByLabel("All events").check();
    await dialog.getByTestId("save-event").click();
    await expect(dialog).toBeHidden();
    await expect(events(page, "Standup")).toContainText("10:00 – 10:30");
    await week(page, "2030-01-14");
    await expect(events(page, "Standup")).toContainText("10:00 – 10:30");
  });

  test("deleting one occurrence of a repeating event keeps the others", async ({ page }) => {
    await register(page, "delete");
    await createEvent(page, "Gym", "2030-01-14", "18:00", "19:00", "Daily");
    await week(page);
    await expect(events(page, "Gym")).toHaveCount(7);
    // Clicking an occurrence opens its card: when, and "Delete" with the choice of scope.
    await page.locator('.day-column[data-date="2030-01-16"]').getByText("Gym").click();
    const dialog = page.getByTestId("event-card");
    await expect(dialog.getByTestId("card-when")).toHaveText("Wednesday 16 January 2030, 18:00 – 19:00");
    await expect(dialog.getByTestId("repeats")).toHaveText("Repeats: Every day");
    await dialog.getByTestId("delete-scope").getByLabel("This event").check();
    await dialog.getByTestId("delete-event").click();
    await expect(dialog).toBeHidden();
    await expect(events(page, "Gym")).toHaveCount(6);
    await expect(page.locator('.day-column[data-date="2030-01-16"]').getByText("Gym")).toHaveCount(0);
    // "Undo" in the toast puts the occurrence back.
    const toast = page.getByTestId("undo-toast");
    await expect(toast).toContainText("Deleted \u201cGym\u201d");
    await toast.getByTestId("undo-delete").click();
    await expect(events(page, "Gym")).toHaveCount(7);
    await expect(page.locator('.day-column[data-date="2030-01-16"]').getByText("Gym")).toHaveCount(1);
    await expect(toast).toContainText("\u201cGym\u201d is back");
    // The whole series too.
    await page.locator('.day-column[data-date="2030-01-17"]').getByText("Gym").click();
    await dialog.getByTestId("delete-scope").getByLabel("All events").check();
    await dialog.getByTestId("delete-event").click();
    await expect(events(page, "Gym")).toHaveCount(0);
    await toast.getByTestId("undo-delete").click();
    await expect(events(page, "Gym")).toHaveCount(7);
  });

  test("dragging an event moves it and dragging its edge resizes it", async ({ page }) => {
    await register(page, "drag");
    await createEvent(page, "Review", "2030-01-15", "09:00", "10:00");
    await week(page);
    const block = events(page, "Review");
    const box = await block.boundingBox();
    if (!box) throw new Error("no event block");
    // Down one hour (48 px) and one day to the right.
    const column = await page.locator('.day-column[data-date="2030-01-15"]').boundingBox();
    if (!column) throw new Error("no column");
    await page.mouse.move(box.x + box.width / 2, box.y + 10);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + column.width / 2, box.y + 34, { steps: 5 });
    await page.mouse.move(box.x + box.width / 2 + column.width, box.y + 58, { steps: 5 });
    await page.mouse.up();
    await expect(page.locator('.day-column[data-date="2030-01-16"]').getByText("Review")).toBeVisible();
    await expect(events(page, "Review")).toContainText("10:00 – 11:00");
    // Resize: pull the bottom edge down by half an hour (on a freshly loaded page).
    await week(page);
    const moved = await events(page, "Review").boundingBox();
    if (!moved) throw new Error("no moved block");
    await page.mouse.move(moved.x + moved.width / 2, moved.y + moved.height - 2);
    await page.mouse.down();
    await page.mouse.move(moved.x + moved.width / 2, moved.y + moved.height + 24, { steps: 5 });
    await page.mouse.up();
    await expect(events(page, "Review")).toContainText("10:00 – 11:30");
  });

  test("a 15-minute event shows its whole title and its time on one line", async ({ page }) => {
    await register(page, "short");
    await createEvent(page, "Stand", "2030-01-15", "09:00", "09:15");
    await week(page);
    const block = events(page, "Stand");
    const link = await block.locator(".event-link").boundingBox();
    const title = await block.locator(".event-title").boundingBox();
    const time = await block.locator(".event-time").boundingBox();
    if (!link || !title || !time) throw new Error("no boxes");
    expect(title.y + title.height).toBeLessThanOrEqual(link.y + link.height + 0.5);
    expect(Math.abs(time.y - title.y)).toBeLessThan(4);
  });

  test("a two-day all-day event is one bar across both days, and opens like any event", async ({ page }) => {
    await register(page, "allday");
    await page.goto("/calendar?view=week&date=2030-01-14&new=2030-01-15T09:00");
    await hydrated(page);
    const dialog = page.getByTestId("event-dialog");
    await dialog.getByTestId("event-title").fill("Conference");
    await dialog.getByTestId("all-day").check();
    await dialog.getByTestId("end-date").fill("2030-01-16");
    await dialog.getByTestId("save-event").click();
    await expect(dialog).toBeHidden();
    await createEvent(page, "Standup", "2030-01-15", "09:00", "09:30");
    await week(page);
    const bar = events(page, "Conference");
    await expect(bar).toHaveCount(1);
    const box = await bar.boundingBox();
    const tuesday = await page.locator('.day-column[data-date="2030-01-15"]').boundingBox();
    const wednesday = await page.locator('.day-column[data-date="2030-01-16"]').boundingBox();
    if (!box || !tuesday || !wednesday) throw new Error("no boxes");
    // From Tuesday's left edge to Wednesday's right edge (a few pixels of margin).
    expect(Math.abs(box.x - tuesday.x)).toBeLessThan(8);
    expect(Math.abs(box.x + box.width - (wednesday.x + wednesday.width))).toBeLessThan(8);
    // Clicking it opens its card; its form shows the last day as it was entered.
    await bar.click();
    await expect(page.getByTestId("event-card").getByTestId("card-when")).toHaveText(
      "Tuesday 15 January 2030 – Wednesday 16 January 2030, all day",
    );
    await page.getByTestId("event-card").getByTestId("edit-event").click();
    await expect(page.getByTestId("event-dialog").getByTestId("event-title")).toHaveValue("Conference");
    await expect(page.getByTestId("event-dialog").getByTestId("end-date")).toHaveValue("2030-01-16");
  });

  test("the event dialog takes the focus, keeps Tab inside and closes with Escape", async ({ page }) => {
    await register(page, "dialogkeys");
    await week(page);
    await page.locator('.day-column[data-date="2030-01-16"] .slot').nth(10).click();
    const dialog = page.getByTestId("quick-create");
    await expect(dialog).toBeVisible();
    await expect(dialog.getByTestId("event-title")).toBeFocused();
    // Times are typed freely and read back in the grid's 24-hour clock.
    await dialog.getByTestId("end-time").fill("1:30 pm");
    await dialog.getByTestId("end-time").blur();
    await expect(dialog.getByTestId("end-time")).toHaveValue("13:30");
    const focusInside = () => dialog.evaluate((d) => d.contains(document.activeElement));
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    expect(await focusInside()).toBe(true);
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press("Tab");
      expect(await focusInside()).toBe(true);
    }
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(page).not.toHaveURL(/new=/);
    // The focus goes back to the hour that opened it.
    await expect(page.locator('.day-column[data-date="2030-01-16"] .slot').nth(10)).toBeFocused();
  });

  test("a fast drag grabbed by the title moves that event, and the next drag moves the next one", async ({ page }) => {
    await register(page, "fastdrag");
    await createEvent(page, "Standup", "2030-01-15", "09:00", "10:00");
    await createEvent(page, "Lunch", "2030-01-15", "12:00", "13:00");
    await week(page);
    const column = await page.locator('.day-column[data-date="2030-01-15"]').boundingBox();
    if (!column) throw new Error("no column");
    // Grabbed on its title's text and thrown two hours down and two days right in one move.
    const title = await events(page, "Standup").locator(".event-title").boundingBox();
    if (!title) throw new Error("no title");
    await page.mouse.move(title.x + title.width / 2, title.y + title.height / 2);
    await page.mouse.down();
    await page.mouse.move(title.x + title.width / 2 + 2 * column.width, title.y + title.height / 2 + 96);
    await page.mouse.up();
    await expect(page.locator('.day-column[data-date="2030-01-17"]').getByText("Standup")).toBeVisible();
    await expect(events(page, "Standup")).toContainText("11:00 – 12:00");
    await expect(page.locator(".event-block.dragging")).toHaveCount(0);
    // The next drag moves the event it grabbed, not the last one.
    const lunch = await events(page, "Lunch").locator(".event-title").boundingBox();
    if (!lunch) throw new Error("no title");
    await page.mouse.move(lunch.x + lunch.width / 2, lunch.y + lunch.height / 2);
    await page.mouse.down();
    await page.mouse.move(lunch.x + lunch.width / 2, lunch.y + lunch.height / 2 + 48);
    await page.mouse.up();
    await expect(events(page, "Lunch")).toContainText("13:00 – 14:00");
    await expect(events(page, "Standup")).toContainText("11:00 – 12:00");
  });

  test("a focused event moves with the arrow keys, and a move can be undone", async ({ page }) => {
    await register(page, "arrowmove");
    await createEvent(page, "Focus block", "2030-01-15", "09:00", "10:00");
    await week(page);
    await events(page, "Focus block").getByRole("link").focus();
    await page.keyboard.press("ArrowDown");
    await expect(events(page, "Focus block")).toContainText("09:15 – 10:15");
    // The event keeps the focus, so the keys go on moving it; the week stays.
    await expect(events(page, "Focus block").getByRole("link")).toBeFocused();
    await page.keyboard.press("ArrowRight");
    await expect(page.locator('.day-column[data-date="2030-01-16"]').getByText("Focus block")).toBeVisible();
    await expect(page.getByTestId("calendar-title")).toHaveText("14 – 20 January 2030");
    // "Undo" puts the last move back.
    await page.getByTestId("undo-toast").getByTestId("undo-move").click();
    await expect(page.locator('.day-column[data-date="2030-01-15"]').getByText("Focus block")).toBeVisible();
    await expect(events(page, "Focus block")).toContainText("09:15 – 10:15");
    // A dragged event too.
    const box = await events(page, "Focus block").boundingBox();
    if (!box) throw new Error("no block");
    await page.mouse.move(box.x + box.width / 2, box.y + 10);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + 58, { steps: 5 });
    await page.mouse.up();
    await expect(events(page, "Focus block")).toContainText("10:15 – 11:15");
    await page.getByTestId("undo-move").click();
    await expect(events(page, "Focus block")).toContainText("09:15 – 10:15");
    await week(page);
    await expect(events(page, "Focus block")).toContainText("09:15 – 10:15");
  });

  test("dragging one occurrence of a repeating event asks which occurrences move", async ({ page }) => {
    await register(page, "dragscope");
    await createEvent(page, "Walk", "2030-01-14", "08:00", "09:00", "Daily");
    await week(page);
    await expect(events(page, "Walk")).toHaveCount(7);
    const drag = async (date: string) => {
      const block = page.locator(`.day-column[data-date="${date}"]`).getByTestId("event").filter({ hasText: "Walk" });
      const box = await block.boundingBox();
      if (!box) throw new Error("no event block");
      await page.mouse.move(box.x + box.width / 2, box.y + 10);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2, box.y + 34, { steps: 5 });
      await page.mouse.move(box.x + box.width / 2, box.y + 58, { steps: 5 });
      await page.mouse.up();
    };
    // Cancelling puts it back and changes nothing.
    await drag("2030-01-16");
    const ask = page.getByTestId("move-scope");
    await expect(ask).toBeVisible();
    await ask.getByTestId("move-cancel").click();
    await expect(ask).toBeHidden();
    await week(page);
    await expect(events(page, "Walk").filter({ hasText: "08:00 – 09:00" })).toHaveCount(7);
    // "This event" moves Wednesday only.
    await drag("2030-01-16");
    await page.getByTestId("move-scope").getByTestId("move-this").click();
    await expect(page.locator('.day-column[data-date="2030-01-16"]').getByTestId("event")).toContainText("09:00 – 10:00");
    await expect(events(page, "Walk").filter({ hasText: "08:00 – 09:00" })).toHaveCount(6);
    // "This and following" from Friday moves Friday to Sunday, and the next week.
    await week(page);
    await drag("2030-01-18");
    await page.getByTestId("move-scope").getByTestId("move-following").click();
    await expect(page.locator('.day-column[data-date="2030-01-20"]').getByTestId("event")).toContainText("09:00 – 10:00");
    await expect(page.locator('.day-column[data-date="2030-01-17"]').getByTestId("event")).toContainText("08:00 – 09:00");
    await week(page, "2030-01-21");
    await expect(events(page, "Walk").filter({ hasText: "09:00 – 10:00" })).toHaveCount(7);
  });

  test("status, show-as, colour, link, tags and guests are saved from the dialog", async ({ page }) => {
    await register(page, "details");
    await createEvent(page, "Planning", "2030-01-15", "14:00", "15:00");
    await week(page);
    await editEvent(page, "Planning");
    let dialog = page.getByTestId("event-dialog");
    await dialog.getByTestId("more-options").click();
    await dialog.getByTestId("event-status").selectOption("tentative");
    await dialog.getByTestId("event-transparency").selectOption("free");
    await dialog.getByTestId("event-color").selectOption({ label: "Grape" });
    await dialog.getByTestId("event-url").fill("https://meet.example.org/planning");
    await dialog.getByTestId("event-tags").fill("work, #q1");
    await dialog.getByTestId("event-attendees").fill("Ada Lovelace <ada@example.org>\nbob@example.org");
    await dialog.getByTestId("save-event").click();
    await expect(dialog).toBeHidden();
    const block = events(page, "Planning");
    await expect(block).toHaveClass(/tentative/);
    await expect(block).toHaveClass(/free/);
    await expect(block).toHaveAttribute("style", /--event-color: #8e24aa/);
    // Opening it again shows every value, the section already open.
    await week(page);
    await editEvent(page, "Planning");
    dialog = page.getByTestId("event-dialog");
    await expect(dialog.getByTestId("event-status")).toHaveValue("tentative");
    await expect(dialog.getByTestId("event-transparency")).toHaveValue("free");
    await expect(dialog.getByTestId("event-color")).toHaveValue("#8e24aa");
    await expect(dialog.getByTestId("event-url")).toHaveValue("https://meet.example.org/planning");
    await expect(dialog.getByTestId("event-tags")).toHaveValue("work, q1");
    await expect(dialog.getByTestId("event-attendees")).toHaveValue("Ada Lovelace <ada@example.org>\nbob@example.org");
    await expect(dialog.getByTestId("attendee-responses")).toContainText("Ada Lovelace — awaiting reply");
    // A bad guest address is refused with the field's message and nothing changes.
    await dialog.getByTestId("event-attendees").fill("not an address");
    await dialog.getByTestId("save-event").click();
    await expect(dialog).toContainText("is not an email address");
    await week(page);
    await editEvent(page, "Planning");
    await expect(page.getByTestId("event-dialog").getByTestId("event-attendees")).toHaveValue(/ada@example.org/);
  });

  test("an event opens as a card with its details, and Duplicate makes a copy", async ({ page }) => {
    await register(page, "card");
    await createEvent(page, "Review", "2030-01-15", "14:00", "15:00");
    await week(page);
    await editEvent(page, "Review");
    let dialog = page.getByTestId("event-dialog");
    await dialog.getByLabel("Location").fill("Room 4");
    await dialog.getByTestId("more-options").click();
    await dialog.getByTestId("event-url").fill("https://meet.example.org/review");
    await dialog.getByTestId("event-attendees").fill("Ada Lovelace <ada@example.org>");
    await dialog.getByTestId("save-event").click();
    await expect(dialog).toBeHidden();
    await events(page, "Review").getByRole("link").click();
    const card = page.getByTestId("event-card");
    await expect(card.getByTestId("card-when")).toHaveText("Tuesday 15 January 2030, 14:00 – 15:00");
    await expect(card.getByTestId("card-location")).toHaveText("Room 4");
    await expect(card.getByTestId("card-link")).toHaveAttribute("href", "https://meet.example.org/review");
    await expect(card.getByTestId("card-guests")).toContainText("Ada Lovelace <ada@example.org> — awaiting reply");
    await expect(card.getByTestId("card-calendar")).not.toBeEmpty();
    await expect(card.getByTestId("edit-event")).toBeFocused();
    // Duplicate: the form of a new event with the same details, saved on Thursday.
    await card.getByTestId("duplicate-event").click();
    dialog = page.getByTestId("event-dialog");
    await expect(dialog.getByTestId("event-title")).toHaveValue("Review");
    await expect(dialog.getByTestId("delete-event")).toHaveCount(0);
    await dialog.getByTestId("start-date").fill("2030-01-17");
    await dialog.getByTestId("end-date").fill("2030-01-17");
    await dialog.getByTestId("save-event").click();
    await expect(dialog).toBeHidden();
    await expect(events(page, "Review")).toHaveCount(2);
    await expect(page.locator('.day-column[data-date="2030-01-15"]').getByText("Review")).toBeVisible();
    await expect(page.locator('.day-column[data-date="2030-01-17"]').getByText("Review")).toBeVisible();
    // Escape closes the card and changes nothing.
    await page.locator('.day-column[data-date="2030-01-17"]').getByText("Review").click();
    await expect(card).toBeVisible();
    await page.keyboard.press("Escape");
    await expect(card).toBeHidden();
    await expect(events(page, "Review")).toHaveCount(2);
  });

  test("keyboard shortcuts switch views, move in time and open dialogs", async ({ page }) => {
    await register(page, "keys");
    await week(page);
    const keysReady = () => expect(page.locator("body[data-shortcuts='ready']")).toHaveCount(1);
    await keysReady();
    await page.keyboard.press("m");
    await arrived(page, /view=month&date=2030-01-14/);
    await expect(page.getByTestId("month-grid")).toBeVisible();
    await keysReady();
    await page.keyboard.press("j");
    await expect(page.getByTestId("calendar-title")).toHaveText("February 2030");
    await keysReady();
    await page.keyboard.press("k");
    await expect(page.getByTestId("calendar-title")).toHaveText("January 2030");
    await keysReady();
    await page.keyboard.press("d");
    await arrived(page, /view=day/);
    await keysReady();
    await page.keyboard.press("a");
    await expect(page.getByTestId("agenda")).toBeVisible();
    await keysReady();
    await page.keyboard.press("?");
    await expect(page.getByTestId("shortcuts")).toBeVisible();
    await keysReady();
    await page.keyboard.press("Escape");
    await expect(page.getByTestId("shortcuts")).toBeHidden();
    await keysReady();
    await page.keyboard.press("c");
    await expect(page.getByTestId("quick-create")).toBeVisible();
    // Typing in the dialog does not trigger shortcuts.
    await page.getByTestId("event-title").fill("made with keys");
    await expect(page.getByTestId("quick-create")).toBeVisible();
    await page.goBack();
    await expect(page.getByTestId("quick-create")).toBeHidden();
    await keysReady();
    await page.keyboard.press("t");
    await expect(page).not.toHaveURL(/date=2030/);
  });

  test("an overlapping time shows a warning before saving", async ({ page }) => {
    await register(page, "overlap");
    await createEvent(page, "Lunch", "2030-01-15", "12:00", "13:00");
    await page.goto("/calendar?view=week&date=2030-01-14&new=2030-01-15T11:30");
    await hydrated(page);
    const dialog = page.getByTestId("event-dialog");
    await expect(dialog.getByTestId("overlap-warning")).toHaveText("Overlaps with Lunch.");
    await dialog.getByTestId("start-time").fill("14:00");
    await dialog.getByTestId("end-time").fill("15:00");
    await expect(dialog.getByTestId("overlap-warning")).toHaveText("");
  });

  test("the month view collapses a busy day to +N more, and the agenda lists it", async ({ page }) => {
    await register(page, "month");
    for (const [title, hour] of [["One", "08"], ["Two", "09"], ["Three", "10"], ["Four", "11"], ["Five", "12"]]) {
      await createEvent(page, title, "2030-01-17", `${hour}:00`, `${hour}:30`);
    }
    await page.goto("/calendar?view=month&date=2030-01-17");
    await hydrated(page);
    const cell = page.locator('.month-cell[data-date="2030-01-17"]');
    await expect(cell.getByTestId("event")).toHaveCount(3);
    await expect(cell.getByTestId("more")).toHaveText("+2 more");
    await page.goto("/calendar?view=agenda&date=2030-01-17");
    await expect(page.getByTestId("agenda").getByTestId("event")).toHaveCount(5);
    // The URL holds the view: back returns to the month.
    await page.goBack();
    await expect(page.getByTestId("month-grid")).toBeVisible();
  });

  test("a custom rule is summarised in plain words as it is typed", async ({ page }) => {
    await register(page, "custom");
    await page.goto("/calendar?view=week&date=2030-01-14&new=2030-01-14T09:00");
    await hydrated(page);
    const dialog = page.getByTestId("event-dialog");
    await dialog.getByTestId("repeat").selectOption("custom");
    await dialog.getByTestId("rrule").fill("FREQ=MONTHLY;BYDAY=2TU;COUNT=6");
    await expect(dialog.getByTestId("rule-summary")).toHaveText("Monthly on the second Tuesday, 6 times");
  });
});

test.describe("calendar without JavaScript", () => {
  test.use({ javaScriptEnabled: false, timezoneId: "Europe/Paris" });

  test("creating, opening and deleting an event works with plain forms", async ({ page }) => {
    await registerAccount(page, { name: "No Script", email: uniqueEmail("nojs"), timeZone: "Europe/Paris", js: false });
    await page.goto("/calendar?view=week&date=2030-01-14&new=2030-01-15T14:00");
    const dialog = page.getByTestId("event-dialog");
    await dialog.getByTestId("event-title").fill("Plain form");
    await dialog.getByTestId("save-event").click();
    await arrived(page, /view=week&date=2030-01-14$/);
    await expect(events(page, "Plain form")).toContainText("14:00 – 15:00");
    await events(page, "Plain form").getByRole("link").click();
    await page.getByTestId("delete-event").click();
    await arrived(page, /view=week&date=2030-01-14&deleted=/);
    await expect(events(page, "Plain form")).toHaveCount(0);
    // The undo is a form too.
    await page.getByTestId("undo-toast").getByTestId("undo-delete").click();
    await arrived(page, /view=week&date=2030-01-14$/);
    await expect(events(page, "Plain form")).toContainText("14:00 – 15:00");
  });
});

const ICS = [
  "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//e2e//EN",
  "BEGIN:VEVENT", "UID:imported-1@e2e", "DTSTART;TZID=Europe/Paris:20300122T150000",
  "DTEND;TZID=Europe/Paris:20300122T160000", "RRULE:FREQ=WEEKLY;COUNT=3", "SUMMARY:Imported weekly", "END:VEVENT",
  "BEGIN:VEVENT", "UID:broken@e2e", "DTSTART;TZID=Mars/Olympus:20300122T150000", "SUMMARY:Bad zone", "END:VEVENT",
  "END:VCALENDAR", "",
].join("\r\n");

test.describe("calendars page", () => {
  test.use({ timezoneId: "Europe/Paris" });

  test("importing a file shows progress and a report, and the events appear", async ({ page }) => {
    await register(page, "import");
    await page.goto("/settings/calendars");
    await hydrated(page);
    const card = page.getByTestId("calendar-card").first();
    await card.getByTestId("import-file").setInputFiles({ name: "work.ics", mimeType: "text/calendar", buffer: Buffer.from(ICS) });
    await card.getByTestId("import").click();
    const report = page.getByTestId("import-report");
    await expect(report).toContainText("Imported 1, updated 0, skipped 1.");
    await expect(report).toContainText("Unknown time zone");
    await page.goto("/calendar?view=month&date=2030-01-22");
    await expect(events(page, "Imported weekly")).toHaveCount(3);
  });

  test("a new calendar gets its own colour and can be hidden from the views", async ({ page }) => {
    await register(page, "calendars");
    await page.goto("/settings/calendars");
    await hydrated(page);
    await page.getByTestId("new-calendar-name").fill("Family");
    await page.getByTestId("add-calendar").click();
    await expect(page.getByTestId("calendar-card")).toHaveCount(2);
    await expect(page.getByTestId("calendar-card").nth(1)).toContainText("Family");
  });
});

test.describe("calendars page without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("a file is imported by a plain form and the report is shown", async ({ page }) => {
    await registerAccount(page, { name: "No Script", email: uniqueEmail("nojs-import"), js: false });
    await page.goto("/settings/calendars");
    const card = page.getByTestId("calendar-card").first();
    await card.getByTestId("import-file").setInputFiles({ name: "work.ics", mimeType: "text/calendar", buffer: Buffer.from(ICS) });
    await card.getByTestId("import").click();
    await arrived(page, /\/settings\/calendars\?report=/);
    await expect(page.getByTestId("import-report")).toContainText("Imported 1, updated 0, skipped 1.");
  });
});

test.describe("search", () => {
  test.use({ timezoneId: "Europe/Paris" });

  test("slash opens search; words find events by title and location, and a result opens the event", async ({ page }) => {
    await register(page, "search");
    await createEvent(page, "Café with Zoë", "2030-01-15", "10:00", "11:00");
    await createEvent(page, "Budget review", "2030-01-16", "14:00", "15:00");
    await week(page);
    await expect(page.locator("body[data-shortcuts='ready']")).toHaveCount(1);
    await page.keyboard.press("/");
    await arrived(page, /\/calendar\/search$/);
    await hydrated(page);
    await page.getByTestId("search-q").fill("cafe zoe");
    await page.getByTestId("search-submit").click();
    await expect(page.getByTestId("search-result")).toHaveCount(1);
    await expect(page.getByTestId("search-result")).toContainText("Café with Zoë");
    await page.getByTestId("search-result").getByRole("link").click();
    await expect(page.getByTestId("event-card")).toBeVisible();
    await expect(page.getByTestId("event-card").getByRole("heading")).toHaveText("Café with Zoë");
    await page.goto("/calendar/search?q=%22%3B+DROP+TABLE+events%3B+--+*");
    await expect(page.getByTestId("no-results")).toBeVisible();
  });
});

test.describe("calendar on a phone", () => {
  // A phone's browser: a narrow touch screen, and "Mobile" in its user agent.
  test.use({
    timezoneId: "Europe/Paris",
    viewport: { width: 390, height: 844 },
    hasTouch: true,
    isMobile: true,
    userAgent:
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  });

  test("the navigation is a bar within reach with every other page under More, and a month's event stays in its day", async ({ page }) => {
    await register(page, "phone");
    await createEvent(page, "Quarterly planning with the whole design team", "2030-01-15", "09:00", "10:00");
    await page.goto("/calendar?view=month&date=2030-01-15");
    await hydrated(page);
    const nav = page.getByRole("navigation", { name: "Main" });
    // The pages of every day are in a bar at the bottom of the screen.
    for (const name of ["Calendar", "Today", "Tasks", "Focus"]) {
      const link = nav.getByRole("link", { name, exact: true });
      await expect(link).toBeInViewport({ ratio: 1 });
      const box = await link.boundingBox();
      if (!box) throw new Error("no box");
      expect(box.y).toBeGreaterThan(844 - 80);
      expect(box.height).toBeGreaterThanOrEqual(44);
    }
    // The others, and logging out, are one tap away under More; choosing one closes it.
    await expect(nav.getByRole("link", { name: "Settings", exact: true })).toBeHidden();
    await nav.getByTestId("nav-more").click();
    for (const name of ["Availability", "Booking links", "Bookings", "Settings"]) {
      await expect(nav.getByRole("link", { name, exact: true })).toBeInViewport({ ratio: 1 });
    }
    await expect(nav.getByRole("button", { name: "Log out" })).toBeInViewport({ ratio: 1 });
    await nav.getByRole("link", { name: "Booking links", exact: true }).click();
    await arrived(page, /\/booking-links$/);
    await expect(nav.getByRole("link", { name: "Settings", exact: true })).toBeHidden();
    // A one-day event is drawn inside its own day's cell, cut with an ellipsis.
    await page.goto("/calendar?view=month&date=2030-01-15");
    const cell = page.locator('.month-cell[data-date="2030-01-15"]');
    const chip = cell.getByTestId("event");
    await expect(chip).toBeVisible();
    const [cellBox, chipBox] = [await cell.boundingBox(), await chip.boundingBox()];
    if (!cellBox || !chipBox) throw new Error("no boxes");
    expect(chipBox.x + chipBox.width).toBeLessThanOrEqual(cellBox.x + cellBox.width + 0.5);
  });

  test("the calendar opens on three readable days from today; a week still scrolls sideways", async ({ page }) => {
    await register(page, "phone-days");
    // Signing in lands on /calendar, which a phone shows as three days from today.
    await hydrated(page);
    const today = new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Paris" }).format(new Date());
    const columns = page.locator(".day-column");
    await expect(columns).toHaveCount(3);
    await expect(columns.first()).toHaveAttribute("data-date", today);
    await expect(page.getByRole("navigation", { name: "View" }).getByRole("link", { name: "3 days" })).toHaveAttribute("aria-current", "page");
    for (const column of await columns.all()) {
      const box = await column.boundingBox();
      if (!box) throw new Error("no column");
      expect(box.width).toBeGreaterThanOrEqual(90);
      expect(box.x + box.width).toBeLessThanOrEqual(390);
    }
    // "Next" moves three days on; the week is still there, its days at least 80 px wide.
    await page.getByTestId("next").click();
    await expect(columns).toHaveCount(3);
    await expect(columns.first()).not.toHaveAttribute("data-date", today);
    await week(page);
    const column = await page.locator('.day-column[data-date="2030-01-15"]').boundingBox();
    if (!column) throw new Error("no column");
    expect(column.width).toBeGreaterThanOrEqual(80);
  });
});

test.describe("reminders", () => {
  test.use({ timezoneId: "Europe/Paris" });

  test("a reminder shows in the header from its time until the event starts", async ({ page }) => {
    await register(page, "reminder");
    const parts = (offsetMinutes: number) => {
      const at = new Date(Date.now() + offsetMinutes * 60_000);
      const text = new Intl.DateTimeFormat("sv-SE", {
        timeZone: "Europe/Paris", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      }).format(at); // "2030-01-14 09:05"
      return { date: text.slice(0, 10), time: text.slice(11, 16) };
    };
    const start = parts(5);
    const end = parts(20);
    await page.goto(`/calendar?view=week&date=${start.date}&new=${start.date}T${start.time}`);
    await hydrated(page);
    const dialog = page.getByTestId("event-dialog");
    await dialog.getByTestId("event-title").fill("Call the bank");
    await dialog.getByTestId("end-date").fill(end.date);
    await dialog.getByTestId("end-time").fill(end.time);
    await dialog.getByTestId("reminder").selectOption({ label: "10 minutes before" });
    await dialog.getByTestId("save-event").click();
    await expect(dialog).toBeHidden();
    await page.goto("/settings");
    await expect(page.getByTestId("reminders")).toContainText(`Call the bank at ${start.time}`);
  });
});
