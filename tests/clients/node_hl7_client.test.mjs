// Drives real clinic-gateway daemons' HL7v2 MLLP listener with the npm `node-hl7-client`
// (pinned in package.json / package-lock.json): a third-party MLLP sender that, unlike Debian's
// python3-hl7 (tests/integration/mllp_test.py), speaks MLLP over TLS, with client certificates.
//
//   node node_hl7_client.test.mjs <path to clinic-gateway>      (or CG_BINARY=<path>)
//
// Three daemons, one after the other, each hermetic (gateway_process.mjs: temp dir, port 0 read
// back from the log, a random bearer token, bounded waits, SIGTERM must exit 0):
//   1. plain MLLP: identity feed, VXU, an unsupported type, a resend;
//   2. MLLP over TLS with a server certificate only;
//   3. MLLP over TLS with mllp.tls.client_ca: no certificate and a foreign CA's certificate are
//      refused, a certificate from the configured CA gets through.
// The certificates are made at start-up with the `openssl` command in a temp dir.
//
// node-hl7-client 3.2.0, as found in its code (lib/esm/index.mjs) — how it is used below:
// - Client({ host, tls, connectionTimeout }) + createConnection({ port }, handler); each answer
//   reaches `handler` as an InboundResponse. Its MLLP decoder treats a chunk holding 0x1C and
//   0x0D as the end of the answer and trims every segment, so answers are compared as the
//   library reports them (deterministic, but not the wire bytes).
// - With connectionTimeout 0 (its default) a socket error or a close is swallowed: no event at
//   all, a refused TLS handshake would only be a missing ACK. With connectionTimeout > 0 it
//   emits `client.error` (then reconnects with backoff, which close() cancels), but the value is
//   a lifetime: the socket is destroyed that long after connecting, busy or not. So senders here
//   use the maximum (60 s) and close as soon as they are done.
// - `connect` is the TCP connect, before the TLS handshake; writes wait for the handshake.
// - sendMessage() before `connect`, or while an ACK is awaited (waitAck), queues the message and
//   opens a second socket to flush it; the queue is otherwise flushed only on (re)connect. So
//   messages are sent one at a time, each after `connect` and after the previous answer.
// - The builder (Message with messageHeader) writes MSH-7 in local time without a zone and
//   refuses MSH-10 over 20 characters for 2.5.1; MSH-3..6 and segments are set by path.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Message } from 'node-hl7-client';
import { HL7_2_5_1 } from 'node-hl7-client/hl7';
import { Gateway, binaryFromArgv, within } from './gateway_process.mjs';

const BINARY = binaryFromArgv();
const WAIT_MS = Number(process.env.CG_TEST_REQUEST_TIMEOUT || 120) * 1000; // connect, answer, HTTP
const CONNECTION_LIFETIME_MS = 60000; // node-hl7-client's connectionTimeout (its maximum); see above
const AUTHORITY = 'NODEHL7'; // PID-3 assigning authority (CX-4) used by the messages below
const MRN_SYSTEM = 'http://clinic.example/nodehl7/mrn'; // …and its configured Identifier.system
const CVX = 'http://hl7.org/fhir/sid/cvx';
const run = randomUUID().slice(0, 8); // keeps control ids and identifiers unique within the run

// Made-up names; none of them may show up in a daemon's log.
const NAMES = ['Nyambura', 'Wekesa', 'Chebet', 'Kiprono', 'Atieno', 'Mutua'];

const GATEWAY_SECTIONS = {
  hl7: { application_name: 'TEST-GW' },
  'hl7.identifier_systems': { [AUTHORITY]: MRN_SYSTEM },
};

function mllpGateway(name, tls) {
  const sections = { ...GATEWAY_SECTIONS, mllp: { enabled: true, port: 0 } };
  if (tls) sections['mllp.tls'] = tls;
  return new Gateway(BINARY, { name, sections });
}

// ---- certificates ---------------------------------------------------------------------------

/** A throwaway PKI from the `openssl` command: CA, server and sender certificates. */
class Pki {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'cg-nodehl7-pki-'));
    this.#authority('ca', 'Clinic MLLP test CA');
    this.#authority('other-ca', 'Some other CA');
    this.#leaf('server', '/CN=127.0.0.1', 'ca',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    this.#leaf('emr', '/O=Clinic/CN=emr-1', 'ca', 'extendedKeyUsage=clientAuth\n');
    this.#leaf('intruder', '/O=Elsewhere/CN=emr-1', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  }

  path(name) {
    return join(this.dir, name);
  }

  read(name) {
    return readFileSync(this.path(name));
  }

  cleanup() {
    if (process.env.CG_TEST_KEEP === '1') console.log(`(kept ${this.dir})`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  #openssl(...args) {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: WAIT_MS });
  }

  #authority(name, cn) {
    this.#openssl('req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-nodes', '-days', '2', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.crt`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  }

  #leaf(name, subject, issuer, extensions) {
    writeFileSync(this.path(`${name}.ext`), `basicConstraints=CA:FALSE\n${extensions}`);
    this.#openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    this.#openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`,
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2',
      '-extfile', `${name}.ext`, '-out', `${name}.crt`);
  }
}

// ---- the sender -----------------------------------------------------------------------------

/**
 * One node-hl7-client Client with one Connection to an MLLP port on 127.0.0.1; `tls` is
 * undefined (plain MLLP) or Node TLS options. One message at a time (see the notes on top).
 */
class Hl7Sender {
  constructor(port, tls) {
    this.answers = []; // node-hl7-client Messages not yet taken by send()
    this.events = new EventEmitter();
    // Resolves with the first error node-hl7-client reports on this connection.
    this.failed = new Promise((resolve) => this.events.once('failure', resolve));
    this.client = new Client({ host: '127.0.0.1', tls, connectionTimeout: CONNECTION_LIFETIME_MS });
    this.connection = this.client.createConnection({ port }, (response) => {
      this.answers.push(response.getMessage());
      this.events.emit('answer');
    });
    const fail = (err) => {
      this.events.emit('failure', err);
      this.connection.close(); // no reconnecting
    };
    this.connection.on('client.error', fail);
    this.connection.on('data.error', fail);
    this.connected = new Promise((resolve) => this.connection.once('connect', resolve));
  }

  /** Sends `message` (a node-hl7-client Message); resolves to the answer as a parsed Message. */
  async send(message) {
    const failure = this.failed.then((err) => {
      throw new Error(`node-hl7-client reported: ${err?.code ?? ''} ${err?.message ?? err}`);
    });
    failure.catch(() => {}); // observed by the races below; an error after the last one is no news
    await within(WAIT_MS, Promise.race([this.connected, failure]), `no connection within ${WAIT_MS} ms`);
    const answered = new Promise((resolve) => {
      if (this.answers.length) resolve();
      else this.events.once('answer', resolve);
    });
    await this.connection.sendMessage(message);
    await within(WAIT_MS, Promise.race([answered, failure]), `no answer within ${WAIT_MS} ms`);
    return this.answers.shift();
  }

  /** Sends `message` to a listener that must refuse it; resolves to the error reported. */
  async sendRefused(message) {
    await within(WAIT_MS, Promise.race([this.connected, this.failed]), `no connection within ${WAIT_MS} ms`);
    const answered = new Promise((resolve) => this.events.once('answer', resolve)).then(() => {
      throw new Error(`answered although it should have been refused:\n${this.answers[0]}`);
    });
    answered.catch(() => {}); // observed by the race below
    await this.connection.sendMessage(message);
    const err = await within(WAIT_MS, Promise.race([this.failed, answered]), `no error reported within ${WAIT_MS} ms`);
    assert.equal(this.answers.length, 0, 'no answer arrived');
    return err;
  }

  async close() {
    await this.connection.close();
  }
}

/** Opens a sender, sends each message in turn, closes; resolves to the answers. */
async function sendAll(port, tls, ...messages) {
  const sender = new Hl7Sender(port, tls);
  try {
    const answers = [];
    for (const m of messages) answers.push(await sender.send(m));
    return answers;
  } finally {
    await sender.close();
  }
}

// ---- messages (built with node-hl7-client's builder) ---------------------------------------

const SENDER = { application: 'NODE-EMR', facility: 'NODECLINIC' };
const RECEIVER = { application: 'CG', facility: 'DISTRICT' };

function v251(type, event, structure, controlId) {
  const m = new Message({
    specification: new HL7_2_5_1(),
    messageHeader: { msh_9_1: type, msh_9_2: event, msh_9_3: structure, msh_10: controlId, msh_11_1: 'P' },
  });
  m.set('MSH.3', SENDER.application);
  m.set('MSH.4', SENDER.facility);
  m.set('MSH.5', RECEIVER.application);
  m.set('MSH.6', RECEIVER.facility);
  return m;
}

function addPid(m, patient) {
  const pid = m.addSegment('PID');
  pid.set(1, '1');
  pid.set('3.1', patient.mrn);
  pid.set('3.4', AUTHORITY);
  pid.set('3.5', 'MR');
  pid.set('5.1', patient.family);
  pid.set('5.2', patient.given);
  pid.set(7, patient.birth);
  pid.set(8, patient.sex);
}

function newPatient(n) {
  return { mrn: `${run}-${n}`, family: NAMES[n], given: 'Faith', birth: '19910523', sex: 'F' };
}

/** ADT^A28 (add person information): the patient identity feed. */
function adtA28(controlId, patient) {
  const m = v251('ADT', 'A28', 'ADT_A05', controlId);
  const evn = m.addSegment('EVN');
  evn.set(1, 'A28');
  evn.set(2, '20261121080000+0300');
  addPid(m, patient);
  return m;
}

/** ADT^A04 (register a patient): Patient + an in-progress Encounter for visit `visit`. */
function adtA04(controlId, patient, visit) {
  const m = v251('ADT', 'A04', 'ADT_A01', controlId);
  const evn = m.addSegment('EVN');
  evn.set(1, 'A04');
  evn.set(2, '20261121081500+0300');
  addPid(m, patient);
  const pv1 = m.addSegment('PV1');
  pv1.set(1, '1');
  pv1.set(2, 'O');
  pv1.set('3.1', 'OPD');
  pv1.set('19.1', visit);
  pv1.set('19.4', AUTHORITY);
  pv1.set('19.5', 'VN');
  pv1.set(44, '20261121081500+0300');
  return m;
}

/** VXU^V04 with one administered influenza dose (CVX 141), filler order `order`. */
function vxuV04(controlId, patient, order, lot) {
  const m = v251('VXU', 'V04', 'VXU_V04', controlId);
  addPid(m, patient);
  const orc = m.addSegment('ORC');
  orc.set(1, 'RE');
  orc.set('3.1', order);
  orc.set('3.2', SENDER.facility);
  const rxa = m.addSegment('RXA');
  rxa.set(1, '0');
  rxa.set(2, '1');
  rxa.set(3, '20261121085500+0300');
  rxa.set('5.1', '141');
  rxa.set('5.2', 'Influenza, seasonal, injectable');
  rxa.set('5.3', 'CVX');
  rxa.set(6, '0.5');
  rxa.set('7.1', 'mL');
  rxa.set('7.3', 'UCUM');
  rxa.set('9.1', '00');
  rxa.set('9.2', 'new immunization record');
  rxa.set('9.3', 'NIP001');
  rxa.set(15, lot);
  rxa.set('17.1', 'SKB');
  rxa.set('17.2', 'GlaxoSmithKline');
  rxa.set('17.3', 'MVX');
  rxa.set(20, 'CP');
  rxa.set(21, 'A');
  const rxr = m.addSegment('RXR');
  rxr.set('1.1', 'C28161');
  rxr.set('1.2', 'Intramuscular');
  rxr.set('1.3', 'NCIT');
  return m;
}

/** ORM^O01 (an order): a type the gateway has no handler for. */
function ormO01(controlId, patient) {
  const m = v251('ORM', 'O01', 'ORM_O01', controlId);
  addPid(m, patient);
  const orc = m.addSegment('ORC');
  orc.set(1, 'NW');
  orc.set(2, `ORD-${run}`);
  return m;
}

// ---- checks ---------------------------------------------------------------------------------

function field(message, path) {
  return message.get(path).toString();
}

/** The answer's MSH mirrors `sent`'s and its MSA-1/MSA-2 are `code` and `sent`'s MSH-10. */
function assertAnswers(answer, sent, code) {
  const text = answer.toString().replaceAll('\r', '\n');
  assert.equal(field(answer, 'MSA.1'), code, `MSA-1 in:\n${text}`);
  assert.equal(field(answer, 'MSA.2'), field(sent, 'MSH.10'), 'MSA-2 is the message control id');
  assert.equal(field(answer, 'MSH.3'), field(sent, 'MSH.5'), 'MSH-3 is the receiving application');
  assert.equal(field(answer, 'MSH.4'), field(sent, 'MSH.6'), 'MSH-4 is the receiving facility');
  assert.equal(field(answer, 'MSH.5'), field(sent, 'MSH.3'), 'MSH-5 is the sending application');
  assert.equal(field(answer, 'MSH.6'), field(sent, 'MSH.4'), 'MSH-6 is the sending facility');
  assert.equal(field(answer, 'MSH.9.1'), 'ACK');
  assert.equal(field(answer, 'MSH.9.2'), field(sent, 'MSH.9.2'), 'MSH-9.2 is the trigger event');
  assert.equal(field(answer, 'MSH.11'), field(sent, 'MSH.11'), 'same processing id');
  assert.equal(field(answer, 'MSH.12'), field(sent, 'MSH.12'), 'same version');
  assert.notEqual(field(answer, 'MSH.10'), '', 'the ACK has its own control id');
}

/** GET [base]/<query> with the bearer token; asserts 200 and returns the parsed JSON. */
async function fhirGet(gw, query) {
  const res = await fetch(`${gw.baseUrl}/${query}`, {
    headers: { authorization: `Bearer ${gw.token}`, accept: 'application/fhir+json' },
    signal: AbortSignal.timeout(WAIT_MS),
  });
  const body = await res.text();
  assert.equal(res.status, 200, `GET ${query}: ${body.slice(0, 500)}`);
  return JSON.parse(body);
}

/** The Patients with `patient`'s MRN (a searchset Bundle). */
function patientsWithMrn(gw, patient) {
  return fhirGet(gw, `Patient?${new URLSearchParams({ identifier: `${MRN_SYSTEM}|${patient.mrn}` })}`);
}

async function assertOnePatient(gw, patient) {
  const found = await patientsWithMrn(gw, patient);
  assert.equal(found.total, 1, `one Patient with identifier ${MRN_SYSTEM}|${patient.mrn}`);
  const stored = found.entry[0].resource;
  assert.equal(stored.name[0].family, patient.family);
  assert.deepEqual(stored.name[0].given, [patient.given]);
  assert.equal(stored.birthDate, `${patient.birth.slice(0, 4)}-${patient.birth.slice(4, 6)}-${patient.birth.slice(6)}`);
  assert.equal(stored.gender, 'female');
  assert.ok(stored.identifier.some((i) => i.system === MRN_SYSTEM && i.value === patient.mrn));
  return stored;
}

async function assertStopsCleanly(gw) {
  const { code, sig } = await gw.stop();
  assert.equal(sig, null, 'not killed by a signal');
  assert.equal(code, 0);
  for (const name of NAMES) assert.ok(!gw.log.includes(name), 'no patient name in the log');
}

// ---- the tests ------------------------------------------------------------------------------

describe('node-hl7-client over plain MLLP', { concurrency: false }, () => {
  const gw = mllpGateway('nodehl7');
  before(() => gw.start());
  after(() => gw.cleanup());

  test('ADT^A28 is AA with a mirrored MSH; the Patient is readable over FHIR', async () => {
    const patient = newPatient(0);
    const sent = adtA28(`${run}-A28`, patient);
    const [answer] = await sendAll(gw.mllpPort, undefined, sent);
    assertAnswers(answer, sent, 'AA');
    assert.equal(field(answer, 'MSH.9.3'), 'ACK');
    const stored = await assertOnePatient(gw, patient);
    assert.equal(stored.meta.versionId, '1');
  });

  test('ADT^A28 then VXU^V04 on one connection: both AA, the Immunization is that Patient\'s', async () => {
    const patient = newPatient(1);
    const registration = adtA28(`${run}-A28B`, patient);
    const vaccination = vxuV04(`${run}-VXU`, patient, `IZ-${run}`, `LOT-${run}`);
    const [registered, vaccinated] = await sendAll(gw.mllpPort, undefined, registration, vaccination);
    assertAnswers(registered, registration, 'AA');
    assertAnswers(vaccinated, vaccination, 'AA');
    const stored = await assertOnePatient(gw, patient);
    const shots = await fhirGet(gw, `Immunization?${new URLSearchParams({
      patient: `Patient/${stored.id}`, 'vaccine-code': `${CVX}|141` })}`);
    assert.equal(shots.total, 1, 'one Immunization');
    const shot = shots.entry[0].resource;
    assert.equal(shot.status, 'completed');
    assert.equal(shot.patient.reference, `Patient/${stored.id}`, 'the Patient the ADT registered');
    assert.equal(shot.lotNumber, `LOT-${run}`);
    assert.equal(shot.occurrenceDateTime, '2026-11-21T08:55:00+03:00');
    assert.deepEqual(shot.vaccineCode.coding[0], { system: CVX, code: '141', display: 'Influenza, seasonal, injectable' });
  });

  test('an unsupported message type (ORM^O01) is AR with ERR-3 200 and stores nothing', async () => {
    const patient = newPatient(2);
    const sent = ormO01(`${run}-ORM`, patient);
    const [answer] = await sendAll(gw.mllpPort, undefined, sent);
    assertAnswers(answer, sent, 'AR');
    assert.equal(field(answer, 'ERR.3.1'), '200', 'HL7 table 0357: unsupported message type');
    assert.equal((await patientsWithMrn(gw, patient)).total, 0);
  });

  test('a resend (same MSH-10, new connection) gets the same ACK and stores nothing new', async () => {
    const patient = newPatient(3);
    const sent = adtA28(`${run}-DUP`, patient);
    const [first] = await sendAll(gw.mllpPort, undefined, sent);
    assertAnswers(first, sent, 'AA');
    const stored = await assertOnePatient(gw, patient);

    const [again] = await sendAll(gw.mllpPort, undefined, sent);
    // The whole answer, its own MSH-10 and MSH-7 included: the archived ACK, not a new one.
    assert.equal(again.toString(), first.toString(), 'the very same answer');
    const later = await assertOnePatient(gw, patient);
    assert.equal(later.id, stored.id, 'the same Patient');
    assert.equal(later.meta.versionId, '1', 'not applied a second time');
    const history = await fhirGet(gw, `Patient/${stored.id}/_history`);
    assert.equal(history.entry.length, 1, 'one version');
  });

  test('SIGTERM stops the daemon with exit code 0', () => assertStopsCleanly(gw));
});

describe('node-hl7-client over MLLP with TLS', { concurrency: false }, () => {
  let pki;
  let gw;
  before(async () => {
    pki = new Pki();
    gw = mllpGateway('nodehl7-tls', { certificate: pki.path('server.crt'), private_key: pki.path('server.key') });
    await gw.start();
  });
  after(() => {
    gw?.cleanup();
    pki?.cleanup();
  });

  test('the daemon says it listens with TLS', () => {
    assert.match(gw.log, /HL7v2 MLLP over TLS listening on 127\.0\.0\.1:\d+/);
  });

  test('ADT^A04 over TLS (client trusts the test CA) is AA; Patient and Encounter stored', async () => {
    const patient = newPatient(4);
    const sent = adtA04(`${run}-TLS-A04`, patient, `V-${run}`);
    const [answer] = await sendAll(gw.mllpPort, { ca: pki.read('ca.crt') }, sent);
    assertAnswers(answer, sent, 'AA');
    const stored = await assertOnePatient(gw, patient);
    const visits = await fhirGet(gw, `Encounter?${new URLSearchParams({ subject: `Patient/${stored.id}` })}`);
    assert.equal(visits.total, 1);
    assert.equal(visits.entry[0].resource.status, 'in-progress');
  });

  test('plain MLLP on the TLS port gets no answer (the daemon logs a handshake failure)', async () => {
    const from = gw.log.length;
    const patient = newPatient(0);
    const sender = new Hl7Sender(gw.mllpPort, undefined);
    try {
      await sender.sendRefused(adtA28(`${run}-TLS-PLAIN`, { ...patient, mrn: `${run}-plain` }));
    } finally {
      await sender.close();
    }
    await gw.waitForLog(/MLLP TLS handshake with 127\.0\.0\.1\S* failed/, WAIT_MS, from);
  });

  test('SIGTERM stops the daemon with exit code 0', () => assertStopsCleanly(gw));
});

describe('node-hl7-client over MLLP with TLS and client certificates', { concurrency: false }, () => {
  let pki;
  let gw;
  before(async () => {
    pki = new Pki();
    gw = mllpGateway('nodehl7-mtls', {
      certificate: pki.path('server.crt'), private_key: pki.path('server.key'), client_ca: pki.path('ca.crt'),
    });
    await gw.start();
  });
  after(() => {
    gw?.cleanup();
    pki?.cleanup();
  });

  /** Sends an A28 that must be refused; returns the daemon's reason for the handshake failure. */
  async function refused(tls, tag) {
    const from = gw.log.length;
    const patient = { ...newPatient(0), mrn: `${run}-${tag}` };
    const sender = new Hl7Sender(gw.mllpPort, tls);
    let err;
    try {
      err = await sender.sendRefused(adtA28(`${run}-${tag}`, patient));
    } finally {
      await sender.close();
    }
    const [, reason] = await gw.waitForLog(/MLLP TLS handshake with 127\.0\.0\.1\S* failed: ([^\n]*)/, WAIT_MS, from);
    assert.equal((await patientsWithMrn(gw, patient)).total, 0, 'nothing stored');
    return { err, reason };
  }

  test('a sender without a client certificate is refused', async () => {
    const { err, reason } = await refused({ ca: pki.read('ca.crt') }, 'NOCERT');
    assert.match(reason, /peer did not return a certificate/);
    // The TLS 1.3 alert, unless the daemon's close overtook it (then a reset).
    assert.match(String(err?.code), /^(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|ECONNRESET)$/, String(err));
  });

  test('a sender with a certificate from another CA is refused', async () => {
    const tls = { ca: pki.read('ca.crt'), cert: pki.read('intruder.crt'), key: pki.read('intruder.key') };
    const { err, reason } = await refused(tls, 'FOREIGN');
    assert.match(reason, /certificate verify failed/);
    assert.match(String(err?.code), /^(ERR_SSL_TLSV1_ALERT_UNKNOWN_CA|ECONNRESET)$/, String(err));
  });

  test('a sender with a certificate from mllp.tls.client_ca gets AA', async () => {
    const patient = newPatient(5);
    const sent = adtA28(`${run}-MTLS`, patient);
    const tls = { ca: pki.read('ca.crt'), cert: pki.read('emr.crt'), key: pki.read('emr.key') };
    const [answer] = await sendAll(gw.mllpPort, tls, sent);
    assertAnswers(answer, sent, 'AA');
    await assertOnePatient(gw, patient);
  });

  test('SIGTERM stops the daemon with exit code 0', () => assertStopsCleanly(gw));
});
