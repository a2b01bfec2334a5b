// Tasks and focus in the browser: a brain dump, micro-steps, a focus session that survives a
// reload, planning the week onto the calendar, and XP and a streak.
import { expect, test, type Page } from "@playwright/test";
import { arrived, hydrated, register as registerAs, registerAccount, uniqueEmail } from "./support";

const register = (page: Page, name = "Tess Tasker") => registerAs(page, name, "tasks");

async function openTasks(page: Page) {
  await page.goto("/tasks");
  await hydrated(page);
}

const brainDump = [
  "Call the dentist tomorrow 3pm ~15m !1 #health",
  "Write the quarterly report by next fri for 2h high energy @work",
  "Buy milk #errands",
  "Reply to Sam's email ~10m @work",
  "Book train tickets in 2 days",
  "Water the plants low energy",
  "Plan the birthday party on 12 march #family",
  "Clean the kitchen ~45m @home",
  "Read chapter 3 p2",
  "Renew passport !2 @admin",
].join("\n");

test.describe("tasks with WebAssembly", () => {
  test.use({ timezoneId: "Europe/Paris" });

  test("a brain dump of ten lines is previewed, then saved as ten tasks", async ({ page }) => {
    await register(page);
    await openTasks(page);
    await page.getByTestId("capture-text").fill(brainDump);
    await page.getByTestId("capture-preview").click();
    const items = page.getByTestId("preview-item");
    await expect(items).toHaveCount(10);
    await expect(items.nth(0)).toContainText("Call the dentist");
    await expect(items.nth(0)).toContainText("~15 min");
    await expect(items.nth(0)).toContainText("P1");
    await expect(items.nth(0)).toContainText("#health");
    await expect(items.nth(1)).toContainText("high energy");
    await expect(items.nth(1)).toContainText("@work");
    // Nothing is saved by a preview.
    await expect(page.getByTestId("no-tasks")).toBeVisible();

    await page.getByTestId("capture-save").click();
    await expect(page.getByTestId("capture-saved")).toHaveText("Captured 10 tasks.");
    await expect(page.getByTestId("task")).toHaveCount(10);
    await expect(page.getByTestId("capture-text")).toHaveValue("");
    // e opens the focused task's edit form; a new estimate is saved.
    await expect(page.locator("body[data-task-keys='ready']")).toHaveCount(1);
    await page.locator("h1").click();
    await page.keyboard.press("j");
    await page.keyboard.press("e");
    const form = page.getByTestId("edit-task");
    await expect(form).toBeVisible();
    await form.getByLabel("Estimate (minutes)").fill("20");
    await form.getByLabel("Status").selectOption("doing");
    // "Do on" and "due" are date pickers, with an optional time in words or digits.
    await form.getByTestId("do-date").fill("2030-01-15");
    await form.getByTestId("do-time").fill("2:30 pm");
    await form.getByTestId("due-date").fill("2030-01-17");
    await form.getByTestId("save-task").click();
    const edited = page.getByTestId("task").filter({ hasText: "~20 min" });
    await expect(edited).toHaveCount(1);
    await expect(edited).toContainText("in progress");
    await expect(edited).toContainText("do 15 Jan 2030 14:30");
    // Opened again on a fresh page, the pickers show what was saved.
    await page.goto("/tasks");
    await hydrated(page);
    await edited.getByTestId("edit-link").click();
    await expect(page.getByTestId("do-date")).toHaveValue("2030-01-15");
    await expect(page.getByTestId("do-time")).toHaveValue("14:30");
    await expect(page.getByTestId("due-date")).toHaveValue("2030-01-17");
    await expect(page.getByTestId("due-time")).toHaveValue("");
    // A time that is not one is refused beside its field, and nothing changes.
    await page.getByTestId("do-time").fill("teatime");
    await page.getByTestId("save-task").click();
    await expect(page.getByTestId("edit-task")).toContainText("Write a time like 09:30 or 2:30 pm.");
    await page.reload();
    await expect(page.getByTestId("do-time")).toHaveValue("14:30");
    await page.goto("/tasks");
    await hydrated(page);
    // A ticked task leaves the list, and Undo brings it back.
    const dentist = page.getByTestId("task").filter({ hasText: "Call the dentist" });
    await dentist.getByTestId("done-toggle").first().click();
    await expect(page.getByTestId("task")).toHaveCount(9);
    await expect(page.getByTestId("undo-toast")).toContainText("Call the dentist");
    await page.getByTestId("undo-done").click();
    await expect(page.getByTestId("task")).toHaveCount(10);
    await expect(page.getByTestId("undo-toast")).toHaveCount(0);
    // A closed row is one line of actions: its check box and "Edit".
    await expect(page.locator("[data-testid=task]:not(.open)").first().getByRole("button")).toHaveCount(1);
    // Zones became filters.
    await page.locator(".zone-links").getByRole("link", { name: "@work" }).click();
    await expect(page.getByTestId("task")).toHaveCount(2);
  });

  test("a task is broken into micro-steps, done one next step at a time, earning XP and a streak", async ({ page }) => {
    await register(page);
    await openTasks(page);
    await page.getByTestId("capture-text").fill("Write the essay ~1h");
    await page.getByTestId("capture-save").click();
    const task = page.getByTestId("task").filter({ hasText: "Write the essay" });
    await expect(task).toHaveCount(1);
    await task.getByText("Break it down").click();
    for (const step of ["Open the document", "Write one sentence", "Read it aloud"]) {
      await task.getByTestId("add-step-title").fill(step);
      await task.getByTestId("add-step").click();
      await expect(task.getByTestId("step").filter({ hasText: step })).toHaveCount(1);
    }
    await expect(task.getByTestId("task-progress")).toContainText("0/3 steps");
    // A sub-step under the second step: progress counts leaves.
    const second = task.getByTestId("step").filter({ hasText: "Write one sentence" });
    await second.getByText("+ sub-step").click();
    await second.getByTestId("add-sub-step-title").first().fill("Pick the first word");
    await second.getByTestId("add-sub-step").first().click();
    await expect(task.getByTestId("task-progress")).toContainText("0/3 steps");

    // Just the next step, one at a time.
    await expect(task.getByTestId("next-step")).toContainText("Open the document");
    await task.getByTestId("next-step").getByTestId("done-toggle").click();
    await expect(task.getByTestId("task-progress")).toContainText("1/3 steps");
    await expect(task.getByTestId("next-step")).toContainText("Pick the first word");
    await expect(task.getByTestId("next-step")).toContainText("Write one sentence");

    // Reorder with the keyboard-free buttons: "Read it aloud" moves up.
    await task.getByRole("button", { name: "Move “Read it aloud” up" }).click();
    await expect(task.getByTestId("step").nth(1)).toHaveAttribute("data-title", "Read it aloud");
    // And by dragging: "Open the document" goes to the end.
    const open = task.getByTestId("step").filter({ hasText: "Open the document" });
    await open.getByTestId("drag-step").dragTo(task.getByTestId("step").filter({ hasText: "Write one sentence" }).locator(".step-title").first());
    await expect(task.locator(".step-list").first().locator(":scope > li").last()).toHaveAttribute("data-title", "Open the document");

    await expect(page.getByTestId("xp")).toContainText("5 XP");
    await expect(page.getByTestId("streak")).toContainText("1-day streak");

    // Finishing the task with the keyboard: j focuses it, x marks it done.
    await expect(page.locator("body[data-task-keys='ready']")).toHaveCount(1);
    await page.locator("h1").click();
    await page.keyboard.press("j");
    await page.keyboard.press("x");
    await expect(page.getByTestId("no-tasks")).toBeVisible();
    await expect(page.getByTestId("xp")).toContainText("25 XP");
    await expect(page.getByTestId("companion")).toContainText("Sprout");
    // Points buy a reward the person chose; XP stays.
    await page.getByTestId("rewards").getByText("Add a reward").click();
    await page.getByTestId("reward-title").fill("Fancy coffee");
    await page.getByTestId("reward-cost").fill("20");
    await page.getByTestId("add-reward").click();
    await page.getByTestId("claim-reward").click();
    await expect(page.getByTestId("points")).toHaveText("5 points to spend");
    await expect(page.getByTestId("xp")).toContainText("25 XP");
    await page.getByRole("link", { name: "Done", exact: true }).click();
    await expect(page.getByTestId("task")).toHaveCount(1);
  });

  test("a focus session keeps running across a reload, pauses, notes a distraction and completes", async ({ page }) => {
    await register(page);
    await openTasks(page);
    await page.getByTestId("capture-text").fill("Deep work on the design");
    await page.getByTestId("capture-save").click();
    await expect(page.getByTestId("task")).toHaveCount(1);

    await page.goto("/focus");
    await hydrated(page);
    await page.getByTestId("focus-task").selectOption({ label: "Deep work on the design" });
    await page.getByTestId("focus-start").click();
    const session = page.getByTestId("focus-session");
    await expect(session).toHaveAttribute("data-state", "running");
    await expect(session).toContainText("Deep work on the design");
    // The countdown ticks in the browser.
    const first = await page.getByTestId("focus-timer").textContent();
    await expect(page.getByTestId("focus-timer")).not.toHaveText(first ?? "", { timeout: 5_000 });

    await page.reload();
    await hydrated(page);
    await expect(session).toHaveAttribute("data-state", "running");
    await expect(page.getByTestId("focus-timer")).toHaveText(/^2[0-4]:[0-5]\d$/);

    await page.getByTestId("focus-pause").click();
    await expect(session).toHaveAttribute("data-state", "paused");
    await page.reload();
    await hydrated(page);
    await expect(session).toHaveAttribute("data-state", "paused");

    // One key to note what pulled me away, Enter, and back.
    await page.locator("h1").click();
    await page.keyboard.press("d");
    await expect(page.getByTestId("distraction-note")).toBeFocused();
    await page.keyboard.type("checked my phone");
    await page.keyboard.press("Enter");
    await expect(page.getByTestId("distractions")).toContainText("checked my phone");

    await page.getByTestId("focus-resume").click();
    await expect(session).toHaveAttribute("data-state", "running");
    await page.getByTestId("focus-complete").click();
    await expect(page.getByTestId("focus-start")).toBeVisible();
    await expect(page.getByTestId("focus-kind")).toHaveValue("short_break");
    await expect(page.getByTestId("focus-history")).toContainText("completed");

    // Energy levels have words.
    await expect(page.getByTestId("energy-4")).toHaveText("4 Good");
    await page.getByTestId("energy-4").click();
    await expect(page.getByText("Energy 4 (good) noted.")).toBeVisible();
  });

  test("a suggestion starts a focus session, and the tab's title counts down", async ({ page }) => {
    await register(page);
    await openTasks(page);
    await page.getByTestId("capture-text").fill("Answer the landlord ~15m");
    await page.getByTestId("capture-save").click();
    await expect(page.getByTestId("task")).toHaveCount(1);
    await page.goto("/focus");
    await hydrated(page);
    const suggested = page.getByTestId("now-task").filter({ hasText: "Answer the landlord" });
    await suggested.getByTestId("now-start").click();
    const session = page.getByTestId("focus-session");
    await expect(session).toHaveAttribute("data-state", "running");
    await expect(session).toContainText("Answer the landlord");
    await expect(page).toHaveTitle(/^2[0-5]:[0-5]\d ▶ Focus · Calento$/);
    const first = await page.title();
    await expect(page).not.toHaveTitle(first, { timeout: 5_000 });
    // While a session runs, suggestions offer no second one.
    await expect(page.getByTestId("now-start")).toHaveCount(0);
    // On every other page the header shows the time left, with pause and stop.
    await page.getByRole("link", { name: "Tasks", exact: true }).first().click();
    await arrived(page, /\/tasks/);
    const badge = page.getByTestId("focus-badge");
    await expect(badge.getByTestId("badge-time")).toHaveText(/^⏱ 2[0-5]:[0-5]\d$/);
    await badge.getByTestId("badge-pause").click();
    await expect(badge.getByTestId("badge-pause")).toHaveText("Resume");
    await page.goto("/focus");
    await hydrated(page);
    await expect(session).toHaveAttribute("data-state", "paused");
    await expect(page.getByTestId("focus-badge")).toHaveCount(0);
    await expect(page).toHaveTitle(/⏸ Focus · Calento$/);
    await page.getByTestId("focus-abandon").click();
    await expect(page.getByTestId("focus-start")).toBeVisible();
    // From the task's own row: "Focus on this" opens Focus with the task chosen.
    await openTasks(page);
    await page.getByTestId("task").filter({ hasText: "Answer the landlord" }).getByTestId("edit-link").click();
    await page.getByTestId("focus-on-task").click();
    await arrived(page, /\/focus\?task=/);
    await expect(page.getByTestId("focus-task").locator("option:checked")).toHaveText("Answer the landlord");
    await expect(page.getByTestId("focus-kind")).toHaveValue("focus");
  });

  test("planning the week puts time blocks on the calendar", async ({ page }) => {
    await register(page);
    await openTasks(page);
    await page.getByTestId("capture-text").fill("Draft the proposal ~1h high energy\nSort the receipts ~30m low energy");
    await page.getByTestId("capture-save").click();
    await expect(page.getByTestId("task")).toHaveCount(2);
    await page.getByTestId("plan-preview").click();
    await expect(page.getByTestId("placement")).toHaveCount(2);
    await page.getByTestId("plan-apply").click();
    const proposal = page.getByTestId("placement").filter({ hasText: "Draft the proposal" });
    await expect(proposal.getByTestId("placement-week")).toBeVisible();
    await expect(proposal).toContainText(/high energy/);
    await proposal.getByTestId("placement-week").click();
    await arrived(page, /\/calendar\?view=week/);
    await expect(page.getByTestId("event").filter({ hasText: "Draft the proposal" })).toHaveCount(1);
  });

  test("a task dragged onto the week view becomes a time block", async ({ page }) => {
    await register(page);
    await openTasks(page);
    await page.getByTestId("capture-text").fill("Call the plumber ~45m");
    await page.getByTestId("capture-save").click();
    await expect(page.getByTestId("task")).toHaveCount(1);
    await page.goto("/calendar?view=week");
    await hydrated(page);
    await page.getByTestId("task-tray").locator("summary").click();
    const item = page.getByTestId("tray-task").filter({ hasText: "Call the plumber" });
    await expect(item).toContainText("45 min");
    // 10:15 in today's column (48 px an hour).
    await item.dragTo(page.locator(".day-column.today"), { targetPosition: { x: 20, y: 10.25 * 48 + 5 } });
    const block = page.getByTestId("event").filter({ hasText: "Call the plumber" });
    await expect(block).toHaveCount(1);
    await expect(block).toContainText("10:15");
  });

  test("the quick-capture box opens with c on another page", async ({ page }) => {
    await register(page);
    await page.goto("/focus");
    await hydrated(page);
    await page.locator("h1").click();
    await page.keyboard.press("c");
    await expect(page.getByTestId("quick-capture-text")).toBeFocused();
    await page.keyboard.type("Pay the electricity bill tomorrow");
    await page.getByTestId("quick-capture-save").click();
    await expect(page.getByText("Captured 1 task.")).toBeVisible();
    await openTasks(page);
    await expect(page.getByTestId("task").filter({ hasText: "Pay the electricity bill" })).toHaveCount(1);
  });
});

test.describe("the day with WebAssembly", () => {
  test.use({ timezoneId: "Europe/Paris" });

  test("onboarding, the morning plan, the evening shutdown and the statistics", async ({ page }) => {
    await register(page);
    await openTasks(page);
    await expect(page.getByTestId("onboarding")).toBeVisible();
    await page.getByTestId("onboard-zones").fill("Work, Family");
    await page.getByTestId("onboard-save").click();
    await expect(page.getByTestId("onboarding")).toHaveCount(0);
    await expect(page.locator(".zone-links")).toContainText("@Work");
    await expect(page.locator(".zone-links")).toContainText("@Family");

    await page.getByTestId("capture-text").fill("Tidy the desk ~15m today\nCall the bank today\nPlan the trip");
    await page.getByTestId("capture-save").click();
    await expect(page.getByTestId("task")).toHaveCount(3);

    await page.goto("/today");
    await hydrated(page);
    await page.getByTestId("intention").fill("One thing at a time");
    await page.getByTestId("candidate").filter({ hasText: "Tidy the desk" }).locator("input").check();
    await page.getByTestId("candidate").filter({ hasText: "Call the bank" }).locator("input").check();
    await page.getByTestId("place-today").click();
    await expect(page.getByTestId("top-tasks")).toContainText("Tidy the desk");
    await expect(page.getByTestId("top-tasks")).toContainText("Call the bank");
    await expect(page.getByTestId("intention")).toHaveValue("One thing at a time");

    await page.getByTestId("shutdown").click();
    await expect(page.getByTestId("shutdown-report")).toContainText("2 unfinished tasks moved to tomorrow");

    await page.goto("/stats");
    await hydrated(page);
    await expect(page.getByTestId("chart-tasks")).toBeVisible();
    await expect(page.getByTestId("chart-streak")).toBeVisible();
    await page.getByTestId("chart-streak").locator("rect").last().hover();
    await expect(page.getByTestId("chart-streak-tip")).toContainText(/^\d{4}-\d{2}-\d{2}: /);
    await expect(page.getByTestId("stats-summary")).toContainText("0 tasks done");
    // Charts have a value axis and their numbers as text.
    await expect(page.getByTestId("chart-tasks").locator("text.tick").first()).toHaveText("0");
    await page.getByText("Tasks done per day: the numbers").click();
    await expect(page.getByTestId("chart-tasks-table").locator("tr")).toHaveCount(await page.getByTestId("chart-tasks").locator("rect").count());
  });
});

test.describe("tasks without JavaScript", () => {
  test.use({ javaScriptEnabled: false, timezoneId: "Europe/Paris" });

  test("capture, micro-steps and done work as plain forms", async ({ page }) => {
    await registerAccount(page, { name: "Plain Forms", email: uniqueEmail("plain"), js: false });
    await page.goto("/tasks");
    await page.getByTestId("capture-text").fill("Fix the bike ~30m\nCall grandma");
    await page.getByTestId("capture-save").click();
    await arrived(page, /\/tasks/);
    await expect(page.getByTestId("task")).toHaveCount(2);
    const bike = page.getByTestId("task").filter({ hasText: "Fix the bike" });
    await bike.getByText("Break it down").click();
    await bike.getByTestId("add-step-title").fill("Pump the tyres");
    await bike.getByTestId("add-step").click();
    await expect(bike.getByTestId("next-step")).toContainText("Pump the tyres");
    await page.getByTestId("task").filter({ hasText: "Call grandma" }).getByTestId("done-toggle").click();
    await expect(page.getByTestId("task")).toHaveCount(1);
  });
});
