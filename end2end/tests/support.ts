// What several suites share: waiting for hydration, fresh addresses, and registering and
// logging in through the pages as a person does.
import { expect, type Page } from "@playwright/test";

export const password = "correct horse battery";
let counter = 0;
export const uniqueEmail = (label: string) => `${label}-${Date.now()}-${counter++}@example.org`;

/** Waits until the page's WASM has hydrated it (the app marks <body> when it has). */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1, { timeout: 30_000 });
}

/**
 * Waits until the page at `url` is shown. In the app the address changes as soon as a
 * page's code has loaded, a moment before the page is drawn; each page of the app marks
 * itself with the path it was drawn for (`main .route[data-path]`), and other documents
 * (invitees' pages, plain answers) have no mark.
 */
export async function arrived(page: Page, url: RegExp | string) {
  await expect(page).toHaveURL(url);
  const path = decodeURI(new URL(page.url()).pathname);
  await page.waitForFunction((path) => {
    const marks = Array.from(document.querySelectorAll("main .route[data-path]"));
    return marks.length === 0 || marks.some((mark) => decodeURI(mark.getAttribute("data-path") ?? "") === path);
  }, path);
}

/**
 * Registers a new account through the /register form, then logs in with it as a person
 * does; ends on the calendar. `js: false` for a context without JavaScript (the forms are
 * then plain posts); `timeZone` fills the form's zone field.
 */
export async function registerAccount(
  page: Page,
  account: { name: string; email: string; timeZone?: string; js?: boolean },
) {
  const { name, email, timeZone, js = true } = account;
  await page.goto("/register");
  if (js) await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  if (timeZone) await page.getByLabel("Time zone", { exact: true }).fill(timeZone);
  await page.getByRole("button", { name: "Create account" }).click();
  // Registering does not sign in (it answers alike whether or not the address has an
  // account): the person logs in with the password just chosen.
  await arrived(page, /\/login\?registered=1$/);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await skipSetup(page);
}

/**
 * A new account's first sign-in opens the guided setup (/welcome); most tests skip it
 * (its own test goes through it) and end on the calendar. Accounts past their first
 * sign-in go straight to the calendar.
 */
export async function skipSetup(page: Page) {
  await arrived(page, /\/(welcome|calendar)$/);
  if (new URL(page.url()).pathname === "/welcome") {
    await page.getByTestId("skip-setup").click();
    await arrived(page, /\/calendar$/);
  }
}

/** Registers a new account named `name` (address made from `label`), then logs in with it. */
export async function register(page: Page, name: string, label: string) {
  await registerAccount(page, { name, email: uniqueEmail(label) });
}
