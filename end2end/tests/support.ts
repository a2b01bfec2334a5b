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

/** Registers a new account named `name` (address from `label`), then logs in with it. */
export async function register(page: Page, name: string, label: string) {
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill(name);
  const email = uniqueEmail(label);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  // Registering does not sign in (it answers alike whether or not the address has an
  // account): the person logs in with the password just chosen.
  await expect(page).toHaveURL(/\/login\?registered=1$/);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/calendar$/);
}
