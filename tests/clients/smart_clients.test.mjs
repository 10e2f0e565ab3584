// SMART clients with real tokens against a real clinic-gateway: the users and clients are
// enrolled with the gateway's own CLI (`user add`, `client add`, `client add --jwks`), the
// token endpoint is found through [FHIR base]/.well-known/smart-configuration, tokens come
// from POST /auth/token with plain fetch (as a SMART client library does), and the FHIR
// calls are made by the npm `fhir-kit-client` with the bearer token:
//   a) password grant → create / read / search Patient;
//   b) client_credentials with a client secret (form body and HTTP Basic);
//   c) SMART Backend Services: an ES384 client assertion signed here with node:crypto against
//      the public JWK registered with `client add --jwks` → a system/Patient.rs token that
//      searches but may not create (403); no token is 401; a replayed assertion is refused;
//   d) refresh_token rotation: a new pair, narrower scopes on request; a replayed (spent)
//      refresh token revokes its whole chain.
//
//   node smart_clients.test.mjs <path to clinic-gateway>      (or CG_BINARY=<path>)
//
// Hermetic like the other client tests (gateway_process.mjs: temp dir, port 0, bounded waits).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'fhir-kit-client';
import { Gateway, binaryFromArgv } from './gateway_process.mjs';

const BINARY = binaryFromArgv();
const PASSWORD = 'correct horse battery staple';
const ID_SYSTEM = 'urn:oid:1.3.6.1.4.1.21367.99.2';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const CLI_TIMEOUT_MS = 120_000;

// ---- helpers --------------------------------------------------------------------------------

/** Runs `clinic-gateway <words> --config <gw's config>`; its stdout, or throws with stderr. */
function cli(gw, words, input = '') {
  const done = spawnSync(BINARY, [...words, '--config', gw.configPath],
    { input, encoding: 'utf8', timeout: CLI_TIMEOUT_MS });
  if (done.status !== 0) throw new Error(`clinic-gateway ${words.join(' ')}: ${done.status}\n${done.stderr}`);
  return done.stdout;
}

/** "key: value" lines of a CLI answer as an object (client_id, client_secret). */
function fields(output) {
  return Object.fromEntries(output.split('\n').filter((l) => l.includes(': ')).map((l) => l.split(/: (.*)/s).slice(0, 2)));
}

/** POSTs a form to the token endpoint; resolves to { status, body }. */
async function tokenRequest(url, form, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(CLI_TIMEOUT_MS),
  });
  return { status: response.status, body: await response.json() };
}

/** Runs a fhir-kit-client call that must fail; returns the HTTP status it failed with. */
async function failureStatus(promise) {
  try {
    await promise;
  } catch (err) {
    if (err.response) return err.response.status;
    throw err;
  }
  assert.fail('request was expected to fail but succeeded');
}

/** A scope string as a sorted list: RFC 6749 scopes are a set, in no particular order. */
const scopes = (scope) => (scope ?? '').split(' ').sort();

const base64url = (data) => Buffer.from(data).toString('base64url');

/**
 * A SMART Backend Services client assertion (RFC 7523): ES384 over header.payload, the
 * signature in JOSE's raw r||s form (ieee-p1363), never DER.
 */
function clientAssertion({ clientId, kid, privateKey, audience, lifetimeS = 240 }) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'ES384', typ: 'JWT', kid };
  const claims = { iss: clientId, sub: clientId, aud: audience, exp: now + lifetimeS, jti: randomUUID() };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha384', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

// ---- the tests ------------------------------------------------------------------------------

const gw = new Gateway(BINARY, { name: 'smart' });
let tokenUrl;
let secretClient;   // { client_id, client_secret }
let backend;        // { clientId, kid, privateKey }
let patientId;
let refreshToken;

describe('SMART clients with tokens against clinic-gateway', { concurrency: false }, () => {
  before(async () => {
    await gw.start();
    cli(gw, ['user', 'add', 'nurse-amina', '--role', 'clinician'], `${PASSWORD}\n`);
    secretClient = fields(cli(gw, ['client', 'add', 'Lab sync', '--role', 'device',
      '--scope', 'system/Patient.rs', '--scope', 'system/Observation.rs']));
    assert.match(secretClient.client_id ?? '', /^\S{22}$/);
    assert.match(secretClient.client_secret ?? '', /^\S{43}$/);

    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const kid = randomUUID();
    const jwks = join(gw.dir, 'backend-jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES384', use: 'sig' }] }));
    const added = fields(cli(gw, ['client', 'add', 'District reporting', '--role', 'device',
      '--scope', 'system/Patient.rs', '--jwks', jwks]));
    assert.ok(added.client_id, 'client add --jwks prints a client id');
    assert.equal(added.client_secret, undefined, 'a private_key_jwt client gets no secret');
    backend = { clientId: added.client_id, kid, privateKey };
  });

  after(() => gw.cleanup());

  test('the token endpoint is discovered at [base]/.well-known/smart-configuration', async () => {
    const response = await fetch(`${gw.baseUrl}/.well-known/smart-configuration`, { signal: AbortSignal.timeout(CLI_TIMEOUT_MS) });
    assert.equal(response.status, 200);
    const smart = await response.json();
    tokenUrl = new URL(smart.token_endpoint).href; // absolute, or URL() throws
    assert.equal(tokenUrl, `http://127.0.0.1:${gw.port}/auth/token`);
    for (const grant of ['password', 'client_credentials', 'refresh_token']) {
      assert.ok(smart.grant_types_supported.includes(grant), `${grant} supported`);
    }
    assert.ok(smart.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
    assert.ok(smart.token_endpoint_auth_signing_alg_values_supported.includes('ES384'));
    assert.ok(smart.capabilities.includes('client-confidential-asymmetric'));
  });

  test("fhir-kit-client's smartAuthMetadata() finds the same token endpoint", async () => {
    // It asks /metadata (the oauth-uris extension) and .well-known/smart-configuration at
    // once and takes the first answer: both must name the token endpoint.
    const client = new Client({ baseUrl: gw.baseUrl });
    const metadata = await client.smartAuthMetadata();
    assert.equal(metadata.tokenUrl?.href, `http://127.0.0.1:${gw.port}/auth/token`);
  });

  test('a) password grant: create, read and search Patient with the bearer token', async () => {
    const { status, body } = await tokenRequest(tokenUrl, {
      grant_type: 'password', username: 'nurse-amina', password: PASSWORD, scope: 'user/*.cruds offline_access',
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'Bearer');
    assert.deepEqual(scopes(body.scope), ['offline_access', 'user/*.cruds']);
    assert.ok(body.expires_in > 0 && body.expires_in <= 300);
    assert.ok(body.refresh_token, 'offline_access brings a refresh token');
    refreshToken = body.refresh_token;

    const client = new Client({ baseUrl: gw.baseUrl, bearerToken: body.access_token });
    const created = await client.create({
      resourceType: 'Patient',
      body: { resourceType: 'Patient', identifier: [{ system: ID_SYSTEM, value: 'smart-1' }], name: [{ family: 'Achieng', given: ['Grace'] }], gender: 'female' },
    });
    patientId = created.id;
    const read = await client.read({ resourceType: 'Patient', id: patientId });
    assert.equal(read.name[0].family, 'Achieng');
    const found = await client.search({ resourceType: 'Patient', searchParams: { identifier: `${ID_SYSTEM}|smart-1` } });
    assert.deepEqual(found.entry.map((e) => e.resource.id), [patientId]);

    const wrong = await tokenRequest(tokenUrl, { grant_type: 'password', username: 'nurse-amina', password: 'not the password' });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');
  });

  test('b) client_credentials with a client secret (form body and HTTP Basic)', async () => {
    const { status, body } = await tokenRequest(tokenUrl, {
      grant_type: 'client_credentials', scope: 'system/Patient.rs',
      client_id: secretClient.client_id, client_secret: secretClient.client_secret,
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.scope, 'system/Patient.rs');
    assert.equal(body.refresh_token, undefined, 'no refresh token for client credentials');
    const client = new Client({ baseUrl: gw.baseUrl, bearerToken: body.access_token });
    const found = await client.search({ resourceType: 'Patient', searchParams: { identifier: `${ID_SYSTEM}|smart-1` } });
    assert.equal(found.total ?? found.entry.length, 1);

    const basic = Buffer.from(`${secretClient.client_id}:${secretClient.client_secret}`).toString('base64');
    const viaBasic = await tokenRequest(tokenUrl, { grant_type: 'client_credentials', scope: 'system/Observation.rs' },
      { authorization: `Basic ${basic}` });
    assert.equal(viaBasic.status, 200, JSON.stringify(viaBasic.body));
    assert.equal(viaBasic.body.scope, 'system/Observation.rs');

    const wrong = await tokenRequest(tokenUrl, { grant_type: 'client_credentials', client_id: secretClient.client_id, client_secret: 'nope' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'invalid_client');
  });

  test('c) SMART Backend Services: an ES384 client assertion gets system/Patient.rs', async () => {
    const assertion = clientAssertion({ ...backend, audience: tokenUrl });
    const form = { grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion };
    const { status, body } = await tokenRequest(tokenUrl, form);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.scope, 'system/Patient.rs');
    assert.equal(body.refresh_token, undefined);

    const client = new Client({ baseUrl: gw.baseUrl, bearerToken: body.access_token });
    const found = await client.search({ resourceType: 'Patient', searchParams: { identifier: `${ID_SYSTEM}|smart-1` } });
    assert.deepEqual(found.entry.map((e) => e.resource.id), [patientId], 'search works');
    const read = await client.read({ resourceType: 'Patient', id: patientId });
    assert.equal(read.id, patientId, 'read works');
    const newPatient = { resourceType: 'Patient', name: [{ family: 'Denied' }] };
    assert.equal(await failureStatus(client.create({ resourceType: 'Patient', body: newPatient })), 403, 'system/Patient.rs does not cover create');
    assert.equal(await failureStatus(client.search({ resourceType: 'Observation' })), 403, 'nor Observations');
    const anonymous = new Client({ baseUrl: gw.baseUrl });
    assert.equal(await failureStatus(anonymous.search({ resourceType: 'Patient' })), 401, 'no token is 401');

    const replay = await tokenRequest(tokenUrl, form);
    assert.equal(replay.status, 401, 'an assertion works once');
    assert.equal(replay.body.error, 'invalid_client');
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    const forged = await tokenRequest(tokenUrl, { ...form, client_assertion: clientAssertion({ ...backend, privateKey: otherKey, audience: tokenUrl }) });
    assert.equal(forged.status, 401, 'an assertion signed by another key is refused');
    const tooLong = await tokenRequest(tokenUrl, { ...form, client_assertion: clientAssertion({ ...backend, audience: tokenUrl, lifetimeS: 3600 }) });
    assert.equal(tooLong.status, 401, 'exp more than 5 minutes ahead is refused');
  });

  test('d) refresh_token grant: rotation, and a replayed refresh token revokes its chain', async () => {
    const first = await tokenRequest(tokenUrl, { grant_type: 'refresh_token', refresh_token: refreshToken });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.ok(first.body.refresh_token && first.body.refresh_token !== refreshToken, 'rotated');
    assert.deepEqual(scopes(first.body.scope), ['offline_access', 'user/*.cruds']);
    const client = new Client({ baseUrl: gw.baseUrl, bearerToken: first.body.access_token });
    const read = await client.read({ resourceType: 'Patient', id: patientId });
    assert.equal(read.name[0].family, 'Achieng');

    const narrower = await tokenRequest(tokenUrl, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token, scope: 'user/Patient.rs offline_access' });
    assert.equal(narrower.status, 200, JSON.stringify(narrower.body));
    assert.deepEqual(scopes(narrower.body.scope), ['offline_access', 'user/Patient.rs'], 'narrower on request, never wider');
    const reader = new Client({ baseUrl: gw.baseUrl, bearerToken: narrower.body.access_token });
    assert.equal(await failureStatus(reader.create({ resourceType: 'Patient', body: { resourceType: 'Patient' } })), 403);

    // A spent refresh token presented again is the sign of a copy: the whole chain goes.
    const replayed = await tokenRequest(tokenUrl, { grant_type: 'refresh_token', refresh_token: refreshToken });
    assert.equal(replayed.status, 400, 'the used refresh token is spent');
    assert.equal(replayed.body.error, 'invalid_grant');
    const newest = await tokenRequest(tokenUrl, { grant_type: 'refresh_token', refresh_token: narrower.body.refresh_token });
    assert.equal(newest.status, 400, 'the newest token of the chain is revoked with it');
    assert.equal(newest.body.error, 'invalid_grant');
  });

  test('the daemon stops cleanly', async () => {
    const { code } = await gw.stop();
    assert.equal(code, 0);
  });
});
