// Live updates: a change made in one tab (or any other client of the account) shows in
// another open tab within a second or so, without a reload; while someone types in the
// other tab, the update waits until the field loses the focus, so nothing typed is lost.
import { expect, test } from "@playwright/test";
import { arrived, hydrated, password, registerAccount, uniqueEmail } from "./support";

test("a task captured on one device appears on another, which waits while someone types", async ({
  page,
  browser,
}) => {
  const email = uniqueEmail("live");
  await registerAccount(page, { name: "Grace Hopper", email });
  await page.goto("/tasks");
  await hydrated(page);
  // A second device: its own browser context, signed in on its own.
  const device = await browser.newContext();
  const other = await device.newPage();
  await other.goto("/login");
  await hydrated(other);
  await other.getByLabel("Email", { exact: true }).fill(email);
  await other.getByLabel("Password", { exact: true }).fill(password);
  await other.getByRole("button", { name: "Log in" }).click();
  await arrived(other, /\/calendar$/);
  await other.goto("/tasks");
  await hydrated(other);

  await other.getByTestId("capture-text").fill("Call the dentist");
  await other.getByTestId("capture-save").click();
  await expect(other.getByTestId("task").filter({ hasText: "Call the dentist" })).toHaveCount(1);
  // The first tab was left alone: the task shows there by itself.
  await expect(page.getByTestId("task").filter({ hasText: "Call the dentist" })).toHaveCount(1, { timeout: 3_000 });

  // Someone is typing in the first tab: the list waits, and the text stays.
  await page.getByTestId("capture-text").fill("half a thought");
  await other.getByTestId("capture-text").fill("Buy bread");
  await other.getByTestId("capture-save").click();
  await expect(other.getByTestId("task").filter({ hasText: "Buy bread" })).toHaveCount(1);
  await page.waitForTimeout(2_000);
  await expect(page.getByTestId("capture-text")).toHaveValue("half a thought");
  await expect(page.getByTestId("task").filter({ hasText: "Buy bread" })).toHaveCount(0);
  // The focus leaves the field: the change arrives, and the text is still there.
  await page.getByTestId("list-heading").click();
  await expect(page.getByTestId("task").filter({ hasText: "Buy bread" })).toHaveCount(1, { timeout: 5_000 });
  await expect(page.getByTestId("capture-text")).toHaveValue("half a thought");
  await device.close();
});

test("an event made in another tab shows in the open week", async ({ page, context }) => {
  await registerAccount(page, { name: "Katherine Johnson", email: uniqueEmail("live-cal") });
  await page.goto("/calendar?view=week");
  await hydrated(page);
  // The other tab writes through the REST API with the same session, as a second device
  // would with its token.
  const other = await context.newPage();
  await other.goto("/tasks");
  await hydrated(other);
  const today = new Date();
  const day = today.toISOString().slice(0, 10);
  const made = await other.request.post("/api/v1/events", {
    data: { title: "Launch review", start: `${day}T10:00:00`, end: `${day}T11:00:00` },
  });
  expect(made.status()).toBe(201);
  await expect(page.getByText("Launch review")).toBeVisible({ timeout: 3_000 });
});
