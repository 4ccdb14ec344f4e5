// Auth0's node SDK (npm `auth0` v7, ManagementClient) against a live Identa server, driven by
// tests/peers/test_auth0_node_management.py.
//
//   node auth0_management.mjs IDENTA_URL CLIENT_ID CLIENT_SECRET
//   (or the environment: IDENTA_URL, IDENTA_CLIENT_ID, IDENTA_CLIENT_SECRET)
//
// The client gets its own token (client credentials, audience https://{domain}/api/v2/, the
// SDK's default) and talks to https://{domain}, hard-coded by the SDK: the `fetch` below
// rewrites https://127.0.0.1:PORT to the server's http URL and records every request.
// Every step runs even when an earlier one failed; each step's outcome is recorded as
// {ok: true, value} or {ok: false, error: {name, statusCode, body, message}}. One JSON object
// is printed on stdout: {domain, requests, steps}. Exit code 0 unless the script itself broke.

import { gunzipSync } from 'node:zlib';
import { Management, ManagementClient, ManagementError } from 'auth0';

const DATABASE = 'Username-Password-Authentication';
const PASSWORD = 'Correct-Horse-9';
const MAX_ITEMS = 500; // a pager that never ends must fail the test, not hang it
const JOB_TIMEOUT_MS = 60_000;

const [argUrl, argId, argSecret] = process.argv.slice(2);
const baseUrl = (argUrl ?? process.env.IDENTA_URL ?? '').replace(/\/$/, '');
const clientId = argId ?? process.env.IDENTA_CLIENT_ID;
const clientSecret = argSecret ?? process.env.IDENTA_CLIENT_SECRET;
if (!baseUrl || !clientId || !clientSecret) {
  process.stderr.write('usage: node auth0_management.mjs IDENTA_URL CLIENT_ID CLIENT_SECRET\n');
  process.exit(2);
}
const domain = new URL(baseUrl).host;
const httpsOrigin = `https://${domain}`;

const requests = [];
function rewritingFetch(input, init) {
  const raw = input instanceof Request ? input.url : String(input);
  const target = raw.startsWith(httpsOrigin) ? baseUrl + raw.slice(httpsOrigin.length) : raw;
  const url = new URL(target);
  requests.push({
    method: (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase(),
    sent_to: raw,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
  });
  return input instanceof Request ? fetch(new Request(target, input), init) : fetch(target, init);
}

const management = new ManagementClient({
  domain,
  clientId,
  clientSecret,
  fetch: rewritingFetch,
  maxRetries: 0,
  timeoutInSeconds: 30,
});

function describeError(error) {
  return {
    name: error?.constructor?.name ?? typeof error,
    statusCode: error?.statusCode ?? null,
    body: error?.body ?? null,
    message: String(error?.message ?? error).slice(0, 2000),
    is_management_error: error instanceof ManagementError,
    is_not_found: error instanceof Management.NotFoundError,
    is_bad_request: error instanceof Management.BadRequestError,
    is_conflict: error instanceof Management.ConflictError,
  };
}

const steps = {};
async function step(name, action) {
  try {
    steps[name] = { ok: true, value: (await action()) ?? null };
  } catch (error) {
    steps[name] = { ok: false, error: describeError(error) };
  }
  return steps[name];
}
const valueOf = (name) => (steps[name]?.ok ? steps[name].value : undefined);

async function drain(pageOrPromise) {
  const page = await pageOrPromise;
  const items = [];
  for await (const item of page) {
    items.push(item);
    if (items.length > MAX_ITEMS) throw new Error(`pager went past ${MAX_ITEMS} items`);
  }
  return items;
}

async function pageSizes(pageOrPromise) {
  let page = await pageOrPromise;
  const sizes = [page.data.length];
  while (page.hasNextPage()) {
    if (sizes.length > MAX_ITEMS) throw new Error('getNextPage never stopped');
    page = await page.getNextPage();
    sizes.push(page.data.length);
  }
  return sizes;
}

async function waitForJob(id) {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  for (;;) {
    const job = await management.jobs.get(id);
    if (job.status === 'completed' || job.status === 'failed') return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const batch = Math.random().toString(16).slice(2, 12);
const email = (label) => `node-${label}-${batch}@example.com`;
const bare = (userId) => userId.split('|').slice(1).join('|');
const userShape = (u) => ({
  user_id: u.user_id,
  email: u.email,
  email_verified: u.email_verified,
  name: u.name,
  user_metadata: u.user_metadata,
  app_metadata: u.app_metadata,
  identities: u.identities,
});

async function main() {
  // -- the database connection, and the token fetched along the way ---------------------------
  await step('database_connection', async () => {
    const connections = await drain(management.connections.list({ name: DATABASE }));
    return connections.map((c) => ({ id: c.id, name: c.name, enabled_clients: c.enabled_clients }));
  });
  const database = valueOf('database_connection')?.[0];

  // -- users: create, get, update, users-by-email ----------------------------------------------
  await step('create', async () =>
    userShape(
      await management.users.create({
        connection: DATABASE,
        email: email('main'),
        password: PASSWORD,
        email_verified: true,
        verify_email: false,
        name: 'Node Person',
        user_metadata: { batch, n: 0, prefs: { a: 1, b: 2 }, drop: true },
        app_metadata: { tier: 1 },
      }),
    ),
  );
  const main = valueOf('create');
  await step('duplicate', async () =>
    management.users.create({ connection: DATABASE, email: email('main'), password: PASSWORD }),
  );
  await step('get', async () => userShape(await management.users.get(main.user_id)));
  await step('update', async () =>
    userShape(
      await management.users.update(main.user_id, {
        user_metadata: { prefs: { a: 9 }, drop: null, added: 'x' },
        app_metadata: { tier: 2 },
        given_name: 'Node',
      }),
    ),
  );
  await step('get_fields', async () =>
    management.users.get(main.user_id, { fields: 'user_id,email', include_fields: true }),
  );
  await step('by_email', async () =>
    (await management.users.listUsersByEmail({ email: email('main') })).map(userShape),
  );

  // -- search and paging -----------------------------------------------------------------------
  await step('more_users', async () => {
    const made = [];
    for (let n = 1; n <= 4; n += 1) {
      made.push(
        userShape(
          await management.users.create({
            connection: DATABASE,
            email: email(`page${n}`),
            password: PASSWORD,
            verify_email: false,
            user_metadata: { batch, n },
          }),
        ),
      );
    }
    return made;
  });
  const q = `user_metadata.batch:"${batch}"`;
  await step('search_first_page', async () => {
    const page = await management.users.list({
      q,
      search_engine: 'v3',
      per_page: 2,
      sort: 'email:1',
      include_totals: true,
    });
    const { start, limit, length, total } = page.response;
    return { start, limit, length, total, emails: page.data.map((u) => u.email) };
  });
  await step('search_all', async () => {
    const from = requests.length;
    const users = await drain(
      management.users.list({ q, search_engine: 'v3', per_page: 2, sort: 'email:1' }),
    );
    return {
      emails: users.map((u) => u.email),
      pages_requested: requests
        .slice(from)
        .filter((r) => r.path.endsWith('/api/v2/users'))
        .map((r) => r.query),
    };
  });
  await step('search_page_sizes', async () =>
    pageSizes(management.users.list({ q, search_engine: 'v3', per_page: 2, sort: 'email:1' })),
  );
  // 4 users in pages of 2: the third page comes back empty and stops the pager.
  await step('search_even_all', async () => {
    const from = requests.length;
    const users = await drain(
      management.users.list({ q: `${q} AND NOT user_metadata.n:0`, per_page: 2 }),
    );
    return {
      count: users.length,
      pages_requested: requests
        .slice(from)
        .filter((r) => r.path.endsWith('/api/v2/users'))
        .map((r) => r.query.page),
    };
  });
  await step('search_past_end', async () => {
    const page = await management.users.list({ q, per_page: 2, page: 9 });
    return { data: page.data, total: page.response.total, has_next: page.hasNextPage() };
  });
  await step('search_range', async () =>
    (await drain(management.users.list({ q: `${q} AND user_metadata.n:[1 TO 2]` })))
      .map((u) => u.user_metadata.n)
      .sort(),
  );

  // -- logs --------------------------------------------------------------------------------------
  await step('user_logs', async () =>
    (await drain(management.users.logs.list(main.user_id, { per_page: 50 }))).map((l) => ({
      type: l.type,
      description: l.description,
      user_id: l.user_id,
      log_id: l.log_id,
      date: l.date,
    })),
  );
  await step('logs_page', async () => {
    const page = await management.logs.list({ per_page: 5 });
    return { count: page.data.length, total: page.response.total, first: page.data[0] ?? null };
  });
  await step('log_get', async () => {
    const first = valueOf('logs_page')?.first;
    const log = await management.logs.get(first.log_id);
    return { log_id: log.log_id, type: log.type };
  });
  await step('logs_search', async () =>
    (await drain(management.logs.list({ search: `user_id:"${main.user_id}"`, per_page: 50 }))).map(
      (l) => ({ user_id: l.user_id, description: l.description }),
    ),
  );

  // -- error shapes ------------------------------------------------------------------------------
  await step('get_unknown', async () => management.users.get(`auth0|${'f'.repeat(24)}`));
  await step('invalid_q', async () =>
    management.users.list({ q: 'email:"unterminated', search_engine: 'v3' }),
  );
  await step('per_page_over_100', async () => management.users.list({ per_page: 101 }));

  // -- PENDING: link and unlink (§7) -------------------------------------------------------------
  await step('link_connection', async () => {
    const made = await management.connections.create({
      name: `node-link-${batch}`,
      strategy: 'auth0',
      enabled_clients: database?.enabled_clients ?? [],
    });
    return { id: made.id, name: made.name };
  });
  const linkConnection = valueOf('link_connection');
  await step('link_secondary', async () =>
    userShape(
      await management.users.create({
        connection: linkConnection.name,
        email: email('secondary'),
        password: PASSWORD,
        email_verified: true,
        verify_email: false,
        name: 'Node Secondary',
        user_metadata: { batch, side: 'secondary' },
      }),
    ),
  );
  const secondary = valueOf('link_secondary');
  await step('link', async () =>
    management.users.identities.link(main.user_id, {
      provider: 'auth0',
      user_id: bare(secondary.user_id),
      connection_id: linkConnection.id,
    }),
  );
  await step('linked_primary', async () => userShape(await management.users.get(main.user_id)));
  await step('linked_secondary_get', async () => management.users.get(secondary.user_id));
  await step('linked_search', async () =>
    (await drain(management.users.list({ q }))).map((u) => u.user_id),
  );
  await step('unlink', async () =>
    management.users.identities.delete(main.user_id, 'auth0', bare(secondary.user_id)),
  );
  await step('unlinked_secondary', async () =>
    userShape(await management.users.get(secondary.user_id)),
  );
  await step('unlinked_primary', async () => userShape(await management.users.get(main.user_id)));
  await step('link_cleanup', async () => {
    await management.users.delete(secondary.user_id);
    await management.connections.delete(linkConnection.id);
    return true;
  });

  // -- PENDING: an import job and an export job (§2.5) ---------------------------------------
  const imported = [
    { email: email('imp1'), email_verified: true, user_metadata: { batch, imported: 1 } },
    { email: email('imp2'), user_metadata: { batch, imported: 2 } },
    { email: 'not-an-email', user_metadata: { batch, imported: 3 } },
  ];
  await step('import_create', async () =>
    management.jobs.usersImports.create({
      users: {
        data: Buffer.from(JSON.stringify(imported)),
        filename: 'users.json',
        contentType: 'application/json',
      },
      connection_id: database.id,
      upsert: false,
      external_id: `node-${batch}`,
      send_completion_email: false,
    }),
  );
  await step('import_done', async () => waitForJob(valueOf('import_create').id));
  await step('import_errors', async () => management.jobs.errors.get(valueOf('import_create').id));
  await step('imported_users', async () =>
    (await drain(management.users.list({ q: `${q} AND _exists_:user_metadata.imported` })))
      .map((u) => ({ email: u.email, email_verified: u.email_verified }))
      .sort((a, b) => a.email.localeCompare(b.email)),
  );
  await step('export_create', async () =>
    management.jobs.usersExports.create({
      connection_id: database.id,
      format: 'json',
      fields: [{ name: 'user_id' }, { name: 'email' }, { name: 'user_metadata' }],
    }),
  );
  await step('export_done', async () => waitForJob(valueOf('export_create').id));
  await step('export_file', async () => {
    const response = await rewritingFetch(valueOf('export_done').location);
    if (!response.ok) throw new Error(`download answered ${response.status}`);
    let bytes = Buffer.from(await response.arrayBuffer());
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    return bytes
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line))
      .filter((row) => row.user_metadata?.batch === batch);
  });

  // -- delete ------------------------------------------------------------------------------------
  await step('delete', async () => {
    await management.users.delete(main.user_id);
    return 'deleted';
  });
  await step('get_deleted', async () => management.users.get(main.user_id));
}

await main();
process.stdout.write(`${JSON.stringify({ domain, batch, requests, steps })}\n`);
