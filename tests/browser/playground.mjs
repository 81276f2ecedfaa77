// Loads the playground in headless Chromium with every non-loopback request blocked, opens the
// Documentation Explorer (which needs the standard introspection query to pass), uses
// autocompletion, runs a query, a mutation and a subscription from the editor, and checks the
// result pane.
// Usage: node playground.mjs http://127.0.0.1:PORT SCREENSHOT.png
import { chromium } from 'playwright-core';

const [base, screenshot] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error('usage: node playground.mjs BASE_URL SCREENSHOT.png');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const blocked = [];
const fail = async (message) => {
  console.error(`FAIL: ${message}`);
  await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
  await browser.close();
  process.exit(1);
};
const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
await context.route('**/*', (route) => {
  const host = new URL(route.request().url()).hostname;
  if (host === '127.0.0.1' || host === 'localhost') return route.continue();
  blocked.push(route.request().url());
  return route.abort();
});
const page = await context.newPage();
page.on('pageerror', (e) => console.error('page error:', e.message));

async function run(query) {
  // GraphiQL 4's query editor is CodeMirror 5: click into it, clear it, set the text.
  const editor = page.locator('.graphiql-query-editor .CodeMirror').first();
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.evaluate((text) => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(text);
  }, query);
  // GraphiQL re-parses the document (to tell queries from subscriptions) after an edit.
  await page.waitForTimeout(800);
  await page.locator('.graphiql-execute-button').click();
}

async function resultContains(text, timeout = 15000) {
  await page.waitForFunction((t) => {
    const el = document.querySelector('.result-window .CodeMirror');
    return el && el.CodeMirror && el.CodeMirror.getValue().includes(t);
  }, text, { timeout }).catch(async () => {
    const shown = await page.evaluate(() => document.querySelector('.result-window')?.innerText ?? '<no result pane>');
    await fail(`result pane never showed ${JSON.stringify(text)}; it shows: ${shown.slice(0, 500)}`);
  });
}

await page.goto(`${base}/graphql`, { waitUntil: 'load' });
await page.waitForSelector('.graphiql-container', { timeout: 20000 }).catch(() => fail('GraphiQL did not render'));

// The Documentation Explorer shows the schema: GraphiQL fetched it with graphql-js's
// standard introspection query.
await page.locator('button[aria-label="Show Documentation Explorer"]').click();
await page.waitForSelector('.graphiql-doc-explorer', { timeout: 10000 }).catch(() => fail('no Documentation Explorer'));
await page.waitForFunction(() => {
  const text = document.querySelector('.graphiql-doc-explorer')?.innerText ?? '';
  return text.includes('Query') || text.includes('Error');
}, null, { timeout: 15000 }).catch(() => {});
const docsText = await page.locator('.graphiql-doc-explorer').innerText();
if (docsText.includes('Error fetching schema') || docsText.includes('Error')) await fail(`the Docs panel shows an error: ${docsText.slice(0, 300)}`);
await page.locator('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name', { hasText: 'Query' }).first().click();
await page.waitForFunction(() => {
  const text = document.querySelector('.graphiql-doc-explorer')?.innerText ?? '';
  return text.includes('passengerStats') && text.includes('passengersByIds');
}, null, { timeout: 10000 }).catch(() => fail('the Docs panel does not list the fields of Query'));
await page.screenshot({ path: screenshot.replace(/\.png$/, '-docs.png'), fullPage: true });
console.log('docs ok');

// Autocompletion from the schema: typing a field prefix offers the matching fields.
{
  const editor = page.locator('.graphiql-query-editor .CodeMirror').first();
  await editor.click();
  await page.evaluate(() => {
    const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
    cm.setValue('');
    cm.focus();
  });
  await page.keyboard.type('{ passengerS', { delay: 60 });
  await page.waitForFunction(() => {
    const hints = document.querySelector('.CodeMirror-hints');
    return hints && hints.innerText.includes('passengerStats');
  }, null, { timeout: 10000 }).catch(() => fail('autocompletion did not offer passengerStats'));
  await page.keyboard.press('Escape');
  console.log('autocompletion ok');
}

await run('{ passengers(first: 2) { totalCount nodes { name } } }');
await resultContains('"totalCount": 887');
await resultContains('Mr. Owen Harris Braund');
console.log('query ok');

await run('mutation { createPassenger(input: { name: "From The Browser" }) { name } }');
await resultContains('"name": "From The Browser"');
console.log('mutation ok');

await run('subscription Live { passengerEvents { kind passenger { name } } }');
await page.waitForTimeout(1000);
const response = await fetch(`${base}/graphql`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ query: 'mutation { createPassenger(input: { name: "Seen Live" }) { id } }' }),
});
if (!response.ok) await fail(`mutation for the subscription failed: ${response.status}`);
await resultContains('"kind": "CREATED"');
await resultContains('Seen Live');
console.log('subscription ok');

await page.screenshot({ path: screenshot, fullPage: true });
if (blocked.length > 0) await fail(`the page tried to reach the internet: ${blocked.join(', ')}`);
console.log(`screenshot: ${screenshot}`);
await browser.close();
