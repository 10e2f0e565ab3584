// Drives a real clinic-gateway daemon with the npm `fhir-kit-client` (pinned in package.json /
// package-lock.json): the FHIR client an integration engineer would actually use.
//
//   node fhir_kit_client.test.mjs <path to clinic-gateway>      (or CG_BINARY=<path>)
//
// Hermetic: the daemon gets a temp dir, port 0 (read back from its "listening on" log line),
// and a random bearer token; every wait is bounded. Exit code is non-zero when any check fails
// (node:test sets it). The daemon is stopped with SIGTERM and must exit 0. Starting and
// stopping it is gateway_process.mjs's job (shared with node_hl7_client.test.mjs).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client } from 'fhir-kit-client';
import { Gateway, binaryFromArgv } from './gateway_process.mjs';

const BINARY = binaryFromArgv();
const ID_SYSTEM = 'urn:oid:1.3.6.1.4.1.21367.99.1'; // a made-up clinic MRN system
const run = randomUUID().slice(0, 8); // keeps identifiers unique within the run

// ---- helpers --------------------------------------------------------------------------------

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

/** Deep copy without meta.versionId / meta.lastUpdated (server-assigned on every write). */
function withoutVersionMeta(resource) {
  const r = structuredClone(resource);
  if (r.meta) {
    delete r.meta.versionId;
    delete r.meta.lastUpdated;
    if (Object.keys(r.meta).length === 0) delete r.meta;
  }
  return r;
}

function plain(result) {
  return JSON.parse(JSON.stringify(result)); // drops fhir-kit-client's hidden request/response keys
}

function header(result, name) {
  return Client.httpFor(result).response?.headers.get(name);
}

function entryIds(bundle) {
  return (bundle.entry || []).map((e) => e.resource?.id ?? e.response?.location);
}

function newPatient(family, extra = {}) {
  return {
    resourceType: 'Patient',
    identifier: [{ system: ID_SYSTEM, value: `${run}-${family}` }],
    active: true,
    name: [{ use: 'official', family, given: ['Amina', 'K.'] }],
    gender: 'female',
    birthDate: '1987-03-14',
    ...extra,
  };
}

// ---- the tests ------------------------------------------------------------------------------

const gw = new Gateway(BINARY, { name: 'fhirkit' });
let client;

describe('fhir-kit-client against clinic-gateway', { concurrency: false }, () => {
  before(async () => {
    await gw.start();
    client = new Client({ baseUrl: gw.baseUrl, bearerToken: gw.token });
  });

  after(() => gw.cleanup());

  test('capabilityStatement (open, no token)', async () => {
    const anonymous = new Client({ baseUrl: gw.baseUrl });
    const cs = await anonymous.capabilityStatement();
    assert.equal(cs.resourceType, 'CapabilityStatement');
    assert.equal(cs.fhirVersion, '4.0.1');
    const types = cs.rest[0].resource.map((r) => r.type);
    for (const t of ['Patient', 'Observation', 'Organization']) assert.ok(types.includes(t), `${t} listed`);
    const patient = cs.rest[0].resource.find((r) => r.type === 'Patient');
    const interactions = patient.interaction.map((i) => i.code);
    for (const i of ['read', 'vread', 'update', 'delete', 'history-instance', 'history-type', 'create', 'search-type']) {
      assert.ok(interactions.includes(i), `Patient interaction ${i} listed`);
    }
  });

  test('401 without a token, 401 with a wrong token', async () => {
    const anonymous = new Client({ baseUrl: gw.baseUrl });
    assert.equal(await failureStatus(anonymous.search({ resourceType: 'Patient' })), 401);
    assert.equal(await failureStatus(anonymous.create({ resourceType: 'Patient', body: newPatient('Anon') })), 401);
    const wrong = new Client({ baseUrl: gw.baseUrl, bearerToken: 'not-the-token' });
    assert.equal(await failureStatus(wrong.read({ resourceType: 'Patient', id: 'x' })), 401);
  });

  test('create / read / vread / update / delete / instance history', async () => {
    const created = await client.create({ resourceType: 'Patient', body: newPatient('Okafor') });
    const id = created.id;
    assert.match(id, /^[0-9a-f-]{36}$/, 'server-assigned UUID id');
    assert.equal(created.meta.versionId, '1');
    assert.match(header(created, 'location'), new RegExp(`/fhir/Patient/${id}/_history/1$`));

    const read = await client.read({ resourceType: 'Patient', id });
    assert.equal(read.name[0].family, 'Okafor');
    assert.equal(header(read, 'etag'), 'W/"1"');

    const changed = { ...plain(read), name: [{ family: 'Okafor-Mensah', given: ['Amina'] }] };
    const updated = await client.update({ resourceType: 'Patient', id, body: changed });
    assert.equal(updated.meta.versionId, '2');
    assert.equal(updated.name[0].family, 'Okafor-Mensah');

    const v1 = await client.vread({ resourceType: 'Patient', id, version: '1' });
    assert.equal(v1.name[0].family, 'Okafor', 'version 1 is kept unchanged');
    const v2 = await client.vread({ resourceType: 'Patient', id, version: '2' });
    assert.equal(v2.name[0].family, 'Okafor-Mensah');

    const hist = await client.history({ resourceType: 'Patient', id });
    assert.equal(hist.resourceType, 'Bundle');
    assert.equal(hist.type, 'history');
    assert.deepEqual(hist.entry.map((e) => e.resource.meta.versionId), ['2', '1'], 'newest first');

    await client.delete({ resourceType: 'Patient', id });
    assert.equal(await failureStatus(client.read({ resourceType: 'Patient', id })), 410);
    const v1again = await client.vread({ resourceType: 'Patient', id, version: '1' });
    assert.equal(v1again.name[0].family, 'Okafor', 'old versions stay readable after delete');
    const hist2 = await client.history({ resourceType: 'Patient', id });
    assert.equal(hist2.entry.length, 3);
    assert.equal(hist2.entry[0].request.method, 'DELETE');
  });

  test('create-on-update (PUT to a client-chosen id)', async () => {
    const id = `clinic-${run}`;
    const res = await client.update({ resourceType: 'Patient', id, body: { ...newPatient('Put'), id } });
    assert.equal(Client.httpFor(res).response.status, 201);
    assert.equal(res.id, id);
    assert.equal((await client.read({ resourceType: 'Patient', id })).name[0].family, 'Put');
  });

  test('type history, following next links', async () => {
    const ids = [];
    for (let i = 0; i < 7; i++) {
      ids.push((await client.create({ resourceType: 'Practitioner', body: { resourceType: 'Practitioner', name: [{ family: `Dr${i}` }] } })).id);
    }
    let page = await client.request('Practitioner/_history?_count=3');
    assert.equal(page.type, 'history');
    const seen = [];
    let pages = 0;
    while (page) {
      pages += 1;
      assert.ok(pages <= 10, 'paging terminates');
      assert.ok((page.entry || []).length <= 3, '_count respected');
      seen.push(...entryIds(page));
      page = await client.nextPage({ bundle: page });
    }
    assert.ok(pages >= 3, `7 entries at _count=3 span ≥ 3 pages (got ${pages})`);
    assert.deepEqual([...seen].sort(), [...ids].sort(), 'every version exactly once across the pages');
  });

  test('search by _id and identifier', async () => {
    const a = await client.create({ resourceType: 'Patient', body: newPatient('Searchable') });
    await client.create({ resourceType: 'Patient', body: newPatient('Other') });
    const byId = await client.search({ resourceType: 'Patient', searchParams: { _id: a.id } });
    assert.equal(byId.type, 'searchset');
    assert.deepEqual(entryIds(byId), [a.id]);
    const byIdent = await client.search({ resourceType: 'Patient', searchParams: { identifier: `${ID_SYSTEM}|${run}-Searchable` } });
    assert.deepEqual(entryIds(byIdent), [a.id]);
    const none = await client.search({ resourceType: 'Patient', searchParams: { identifier: `${ID_SYSTEM}|no-such-${run}` } });
    assert.equal((none.entry || []).length, 0);
    const count = await client.search({ resourceType: 'Patient', searchParams: { _id: a.id, _summary: 'count' } });
    assert.equal(count.total, 1);
  });

  test('transaction with urn:uuid references', async () => {
    const patientUrn = `urn:uuid:${randomUUID()}`;
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: `urn:uuid:${randomUUID()}`,
          resource: {
            resourceType: 'Observation', status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body height' }] },
            subject: { reference: patientUrn },
            valueQuantity: { value: 162.5, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
        { fullUrl: patientUrn, resource: newPatient('Transacted'), request: { method: 'POST', url: 'Patient' } },
      ],
    };
    const resp = await client.transaction({ body: bundle });
    assert.equal(resp.type, 'transaction-response');
    assert.equal(resp.entry.length, 2);
    for (const e of resp.entry) assert.match(e.response.status, /^201/);
    const obsLoc = resp.entry[0].response.location;
    const patLoc = resp.entry[1].response.location;
    const [, patientId] = /Patient\/([^/]+)\/_history\/1$/.exec(patLoc);
    const [, obsId] = /Observation\/([^/]+)\/_history\/1$/.exec(obsLoc);
    const obs = await client.read({ resourceType: 'Observation', id: obsId });
    assert.equal(obs.subject.reference, `Patient/${patientId}`, 'urn:uuid rewritten to the new Patient id');
    const patient = await client.read({ resourceType: 'Patient', id: patientId });
    assert.equal(patient.name[0].family, 'Transacted');
  });

  test('conditional create (If-None-Exist twice makes one resource)', async () => {
    const body = newPatient('Conditional');
    const ifNoneExist = `identifier=${ID_SYSTEM}|${run}-Conditional`;
    const first = await client.create({ resourceType: 'Patient', body, options: { headers: { 'If-None-Exist': ifNoneExist } } });
    assert.equal(Client.httpFor(first).response.status, 201);
    const second = await client.create({ resourceType: 'Patient', body, options: { headers: { 'If-None-Exist': ifNoneExist } } });
    assert.equal(Client.httpFor(second).response.status, 200, 'second create finds the first');
    assert.equal(second.id, first.id);
    const found = await client.search({ resourceType: 'Patient', searchParams: { identifier: `${ID_SYSTEM}|${run}-Conditional` } });
    assert.deepEqual(entryIds(found), [first.id], 'exactly one resource');
  });

  test('XML round trip: JSON → XML (_format and Accept) → PUT XML → JSON unchanged', async () => {
    const original = newPatient('Xmlround', {
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>Amina <b>Xmlround</b> &amp; co</p></div>' },
      _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1987-03-14T06:30:00+03:00' }] },
      telecom: [{ system: 'phone', value: '+256 700 000 000', use: 'mobile' }],
      address: [{ line: ['Plot 12 <Kampala Rd>', 'Flat "B"'], city: 'Kampala', country: 'UG' }],
      multipleBirthInteger: 2,
      deceasedBoolean: false,
    });
    const created = await client.create({ resourceType: 'Patient', body: original });
    const id = created.id;
    const auth = { authorization: `Bearer ${gw.token}` };

    const viaFormat = await fetch(`${gw.baseUrl}/Patient/${id}?_format=xml`, { headers: auth });
    assert.equal(viaFormat.status, 200);
    assert.match(viaFormat.headers.get('content-type'), /^application\/fhir\+xml/);
    const xml = await viaFormat.text();
    assert.match(xml, /<Patient xmlns="http:\/\/hl7\.org\/fhir">/);
    assert.match(xml, /<birthDate value="1987-03-14">/);

    const viaAccept = await fetch(`${gw.baseUrl}/Patient/${id}`, { headers: { ...auth, accept: 'application/fhir+xml' } });
    assert.equal(viaAccept.status, 200);
    assert.match(viaAccept.headers.get('content-type'), /^application\/fhir\+xml/);
    assert.equal(await viaAccept.text(), xml, '_format=xml and Accept give the same document');

    // fhir-kit-client sends a string body as-is; we override its JSON content type.
    const updated = await client.update({
      resourceType: 'Patient', id, body: xml,
      options: { headers: { 'content-type': 'application/fhir+xml' } },
    });
    assert.equal(updated.meta.versionId, '2');
    const back = plain(await client.read({ resourceType: 'Patient', id }));
    assert.deepEqual(withoutVersionMeta(back), { ...original, id }, 'JSON → XML → JSON is lossless');
  });

  test('If-Match: 412 on a stale version, success on the current one', async () => {
    const created = await client.create({ resourceType: 'Patient', body: newPatient('Etag') });
    const id = created.id;
    const body = { ...plain(created), active: false };
    const v2 = await client.update({ resourceType: 'Patient', id, body, options: { headers: { 'If-Match': 'W/"1"' } } });
    assert.equal(v2.meta.versionId, '2');
    const stale = client.update({ resourceType: 'Patient', id, body: { ...body, gender: 'other' }, options: { headers: { 'If-Match': 'W/"1"' } } });
    assert.equal(await failureStatus(stale), 412);
    const current = await client.read({ resourceType: 'Patient', id });
    assert.equal(current.meta.versionId, '2', 'the stale update stored nothing');
    assert.equal(current.gender, 'female');
  });

  // ---- search through fhir-kit-client's search API (GET, POST _search, compartment, system) ----

  /** Every page of a search result via client.nextPage(): [match ids, include keys, pages, total]. */
  async function allPages(first, maxPages = 50) {
    const ids = [];
    const includes = [];
    let pages = 0;
    let page = first;
    while (page) {
      pages += 1;
      assert.ok(pages <= maxPages, 'paging terminates');
      assert.equal(page.type, 'searchset');
      for (const e of page.entry || []) {
        if (e.search?.mode === 'include') includes.push(`${e.resource.resourceType}/${e.resource.id}`);
        else ids.push(e.resource.id);
      }
      page = await client.nextPage({ bundle: page });
    }
    return { ids, includes, pages, total: first.total };
  }

  /** A Patient and `n` heart-rate Observations on it, all tagged with this run's tag. */
  async function patientWithObservations(family, n) {
    const patient = await client.create({ resourceType: 'Patient', body: newPatient(family) });
    const obs = [];
    for (let i = 0; i < n; i++) {
      obs.push((await client.create({
        resourceType: 'Observation',
        body: {
          resourceType: 'Observation', status: 'final',
          meta: { tag: [{ system: ID_SYSTEM, code: `run-${run}` }] },
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
          subject: { reference: `Patient/${patient.id}` },
          effectiveDateTime: `2024-05-${String(10 + i).padStart(2, '0')}T08:00:00Z`,
          valueQuantity: { value: 60 + 10 * i, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
        },
      })).id);
    }
    return { patient, obs };
  }

  test('search: parameters, AND/OR, prefixes, accents; nextPage() through every page', async () => {
    const { patient, obs } = await patientWithObservations('Müller-Núñez', 7);
    const first = await client.search({
      resourceType: 'Observation',
      searchParams: { subject: `Patient/${patient.id}`, code: 'http://loinc.org|8867-4', _count: 3 },
    });
    assert.equal(first.total, 7);
    const all = await allPages(first);
    assert.equal(all.pages, 3, '7 matches at _count=3 are 3 pages');
    assert.deepEqual([...all.ids].sort(), [...obs].sort(), 'every Observation exactly once across the pages');

    // Repeated parameter = AND; a value list = OR; prefixes on dates and quantities.
    const window = await client.search({
      resourceType: 'Observation',
      searchParams: { subject: `Patient/${patient.id}`, date: ['ge2024-05-12', 'lt2024-05-15'] },
    });
    assert.deepEqual(entryIds(window).sort(), obs.slice(2, 5).sort(), 'date=ge…&date=lt… (AND)');
    const fast = await client.search({
      resourceType: 'Observation',
      searchParams: { subject: `Patient/${patient.id}`, 'value-quantity': 'gt100|http://unitsofmeasure.org|/min' },
    });
    assert.deepEqual(entryIds(fast).sort(), obs.slice(5).sort(), 'value-quantity=gt100 (110 and 120 /min)');
    const either = await client.search({
      resourceType: 'Observation',
      searchParams: { _id: `${obs[0]},${obs[6]}` },
    });
    assert.deepEqual(entryIds(either).sort(), [obs[0], obs[6]].sort(), '_id=a,b (OR)');

    // String search is a case- and accent-insensitive prefix; :exact is not.
    const byFamily = await client.search({ resourceType: 'Patient', searchParams: { family: 'MULLER-NUN' } });
    assert.deepEqual(entryIds(byFamily), [patient.id], 'family=MULLER-NUN finds Müller-Núñez');
    const exact = await client.search({ resourceType: 'Patient', searchParams: { 'family:exact': 'muller-nunez' } });
    assert.equal((exact.entry || []).length, 0, 'family:exact is case- and accent-sensitive');

    // Chain, reverse chain and _summary=count.
    const chained = await client.search({
      resourceType: 'Observation',
      searchParams: { 'subject:Patient.identifier': `${ID_SYSTEM}|${run}-Müller-Núñez`, _summary: 'count' },
    });
    assert.equal(chained.total, 7, 'subject:Patient.identifier chain');
    const reverse = await client.search({
      resourceType: 'Patient',
      searchParams: { '_has:Observation:subject:_tag': `${ID_SYSTEM}|run-${run}`, _id: patient.id },
    });
    assert.deepEqual(entryIds(reverse), [patient.id], '_has:Observation:subject:_tag');
  });

  test('search: _include and _revinclude through the client', async () => {
    const { patient, obs } = await patientWithObservations('Includer', 2);
    const withSubject = await client.search({
      resourceType: 'Observation',
      searchParams: { _id: obs[0], _include: 'Observation:subject' },
    });
    const all = await allPages(withSubject);
    assert.deepEqual(all.ids, [obs[0]]);
    assert.deepEqual(all.includes, [`Patient/${patient.id}`], 'the subject is included once');
    const withObs = await client.search({
      resourceType: 'Patient',
      searchParams: { _id: patient.id, _revinclude: 'Observation:subject' },
    });
    const rev = await allPages(withObs);
    assert.deepEqual(rev.ids, [patient.id]);
    assert.deepEqual([...rev.includes].sort(), obs.map((id) => `Observation/${id}`).sort());
  });

  test('search: compartmentSearch (Patient/<id>/Observation) with paging', async () => {
    const { patient, obs } = await patientWithObservations('Compartment', 5);
    const first = await client.compartmentSearch({
      resourceType: 'Observation',
      compartment: { resourceType: 'Patient', id: patient.id },
      searchParams: { _count: 2 },
    });
    assert.equal(first.total, 5);
    const all = await allPages(first);
    assert.equal(all.pages, 3);
    assert.deepEqual([...all.ids].sort(), [...obs].sort());
    // search() dispatches to the compartment search too, and filters inside the compartment.
    const filtered = await client.search({
      resourceType: 'Observation',
      compartment: { resourceType: 'Patient', id: patient.id },
      searchParams: { date: 'ge2024-05-13' },
    });
    assert.deepEqual(entryIds(filtered).sort(), obs.slice(3).sort());
  });

  test('search: POST _search (options.postSearch) equals GET, and pages the same', async () => {
    const { patient, obs } = await patientWithObservations('Poster', 4);
    const searchParams = { subject: `Patient/${patient.id}`, _count: 3, _sort: 'date' };
    const viaGet = await allPages(await client.search({ resourceType: 'Observation', searchParams }));
    const firstPost = await client.search({ resourceType: 'Observation', searchParams, options: { postSearch: true } });
    assert.equal(Client.httpFor(firstPost).response.status, 200);
    const viaPost = await allPages(firstPost);
    assert.deepEqual(viaPost.ids, viaGet.ids, 'same ids in the same order');
    assert.deepEqual(viaGet.ids, obs, '_sort=date: in effective order');
    assert.equal(viaPost.total, 4);
  });

  // R4 http.html lists POST [base]/[compartment]/[id]/[type]/_search.
  test('search: POST compartment _search (options.postSearch)', async () => {
    const { patient } = await patientWithObservations('CompartmentPoster', 2);
    const compartmentPost = await client.compartmentSearch({
      resourceType: 'Observation', compartment: { resourceType: 'Patient', id: patient.id },
      searchParams: { _summary: 'count' }, options: { postSearch: true },
    });
    assert.equal(compartmentPost.total, 2, 'POST Patient/<id>/Observation/_search');
  });

  test('search: system search (_type) and the Android FHIR SDK download pattern', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const { patient, obs } = await patientWithObservations('Systemic', 3);
    const sys = await client.search({ searchParams: { _type: 'Patient,Observation', _id: [patient.id, ...obs].join(',') } });
    assert.equal(sys.total, 4, 'GET [base]/?_type=Patient,Observation&_id=…');
    const sysPost = await client.search({ searchParams: { _type: 'Patient', _id: patient.id }, options: { postSearch: true } });
    assert.deepEqual(entryIds(sysPost), [patient.id], 'POST [base]/_search');

    // _sort=_lastUpdated&_lastUpdated=gt<instant>, paged; then an empty incremental round.
    const first = await client.search({
      resourceType: 'Observation',
      searchParams: { _sort: '_lastUpdated', _lastUpdated: `gt${since}`, _count: 2 },
    });
    const all = await allPages(first);
    for (const id of obs) assert.ok(all.ids.includes(id), `Observation/${id} downloaded`);
    const newest = (await client.read({ resourceType: 'Observation', id: all.ids[all.ids.length - 1] })).meta.lastUpdated;
    const again = await client.search({
      resourceType: 'Observation', searchParams: { _sort: '_lastUpdated', _lastUpdated: `gt${newest}`, _count: 2 },
    });
    assert.equal((again.entry || []).length, 0, 'nothing newer than the newest lastUpdated seen');
    const count = await client.search({
      resourceType: 'Observation', searchParams: { _lastUpdated: `gt${since}`, _summary: 'count' },
    });
    assert.equal(count.total, all.ids.length, '_summary=count agrees with the pages');
  });

  test('search: composites, near, _list, partof:below, and prevPage() back through the pages', async () => {
    const tag = `cmp-${run}`;
    const bp = (systolic) => ({
      resourceType: 'Observation', status: 'final', identifier: [{ system: ID_SYSTEM, value: `${tag}-${systolic}` }],
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
      component: [
        { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
          valueQuantity: { value: systolic, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] },
          valueQuantity: { value: 150, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }],
    });
    const high = await client.create({ resourceType: 'Observation', body: bp(160) });
    await client.create({ resourceType: 'Observation', body: bp(120) });
    // Systolic over 140: only the first; its diastolic 150 belongs to another component.
    const composite = await allPages(await client.search({
      resourceType: 'Observation',
      searchParams: { 'component-code-value-quantity': 'http://loinc.org|8480-6$gt140', identifier: `${ID_SYSTEM}|${tag}-160,${ID_SYSTEM}|${tag}-120` },
    }));
    assert.deepEqual(composite.ids, [high.id]);

    const region = await client.create({ resourceType: 'Location', body: { resourceType: 'Location', name: `${tag} region` } });
    const clinic = await client.create({ resourceType: 'Location', body: {
      resourceType: 'Location', name: `${tag} clinic`, partOf: { reference: `Location/${region.id}` },
      position: { latitude: -0.0917, longitude: 34.768 } } });
    const ward = await client.create({ resourceType: 'Location', body: {
      resourceType: 'Location', name: `${tag} ward`, partOf: { reference: `Location/${clinic.id}` } } });
    const below = await allPages(await client.search({ resourceType: 'Location', searchParams: { 'partof:below': `Location/${region.id}` } }));
    assert.deepEqual([...below.ids].sort(), [clinic.id, ward.id].sort());
    const near = await allPages(await client.search({ resourceType: 'Location', searchParams: { near: '-0.1|34.77|2|km' } }));
    assert.ok(near.ids.includes(clinic.id), 'the clinic is within 2 km');
    const far = await allPages(await client.search({ resourceType: 'Location', searchParams: { near: '1.0|36.0|2|km' } }));
    assert.ok(!far.ids.includes(clinic.id));

    const list = await client.create({ resourceType: 'List', body: {
      resourceType: 'List', status: 'current', mode: 'working', entry: [{ item: { reference: `Location/${ward.id}` } }] } });
    const listed = await allPages(await client.search({ resourceType: 'Location', searchParams: { _list: list.id } }));
    assert.deepEqual(listed.ids, [ward.id]);

    // Forward through a sorted search, then back with prevPage(): the same pages, reversed.
    const { patient } = await patientWithObservations('Pager', 7);
    const sorted = { resourceType: 'Observation', searchParams: { subject: `Patient/${patient.id}`, _sort: '-date', _count: 3 } };
    const forward = [];
    let page = await client.search(sorted);
    for (;;) {
      forward.push((page.entry || []).map((e) => e.resource.id));
      const next = await client.nextPage({ bundle: page });
      if (!next) break;
      page = next;
    }
    assert.equal(forward.length, 3);
    const backward = [];
    for (let prev = await client.prevPage({ bundle: page }); prev;
      prev = await client.prevPage({ bundle: prev })) {
      backward.push((prev.entry || []).map((e) => e.resource.id));
    }
    assert.deepEqual(backward, [forward[1], forward[0]]);
  });

  test('search: bad input is a 400 through the client', async () => {
    const bad = [
      { resourceType: 'Patient', searchParams: { birthdate: '2026-02-30' } },
      { resourceType: 'Patient', searchParams: { 'name:fuzzy': 'x' } },
      { resourceType: 'Observation', searchParams: { 'subject.name': 'x' } },
      { resourceType: 'Patient', searchParams: { _count: 100000 } },
    ];
    for (const params of bad) {
      assert.equal(await failureStatus(client.search(params)), 400, JSON.stringify(params.searchParams));
    }
    const strict = client.search({
      resourceType: 'Patient', searchParams: { nonsense: '1' },
      options: { headers: { Prefer: 'handling=strict' } },
    });
    assert.equal(await failureStatus(strict), 400, 'Prefer: handling=strict refuses an unknown parameter');
  });

  test('SIGTERM stops the daemon with exit code 0', async () => {
    const { code, sig } = await gw.stop();
    assert.equal(sig, null, 'not killed by a signal');
    assert.equal(code, 0);
    assert.ok(!gw.log.includes('Okafor'), 'no resource content in the log');
  });
});
