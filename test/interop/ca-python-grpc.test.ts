// The issuing API with a client we did not write: Python's grpcio (Debian python3-grpcio), stubs
// generated from ca.proto by grpc_tools at run time, CSRs and keys made by the openssl CLI.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractFile } from '../../control-plane/api/ca-contract.js';
import { startCaServer, type TestCaServer } from '../helpers/ca-server.js';
import { runOpenssl } from '../helpers/openssl.js';
import { testId } from '../helpers/throwaway-ca.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';

// Issues with a token, or (mode "renew") with the certificate over mTLS; prints JSON.
const client = `
import json, sys, grpc
sys.path.insert(0, sys.argv[1])
import ca_pb2, ca_pb2_grpc
directory, address, mode, csr_file, token = sys.argv[1:6]
read = lambda name: open(f"{directory}/{name}", "rb").read()
if mode == "renew":
    credentials = grpc.ssl_channel_credentials(read("bundle.pem"), read("key.pem"), read("chain.pem"))
else:
    credentials = grpc.ssl_channel_credentials(read("bundle.pem"))
channel = grpc.secure_channel(address, credentials, options=[("grpc.ssl_target_name_override", "weft-control-plane")])
issuer = ca_pb2_grpc.CertificateIssuerStub(channel)
try:
    response = issuer.IssueCertificate(ca_pb2.IssueCertificateRequest(csr_pem=read(csr_file).decode(), bootstrap_token=token), timeout=10)
    print(json.dumps({"chain": list(response.certificate_chain_pem), "roots": list(response.trust_bundle.root_certificate_pem)}))
except grpc.RpcError as error:
    print(json.dumps({"code": error.code().name, "details": error.details()}))
`;

let ca: TestCaServer;
let dir: string;
const id = testId('python');

async function python(mode: 'token' | 'renew', csrFile: string, token = ''): Promise<Record<string, unknown>> {
  const { stdout } = await run(PYTHON, [join(dir, 'client.py'), dir, ca.endpoint.address, mode, csrFile, token], { timeout: 30_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function opensslCsr(name: string, spiffeId: string): Promise<void> {
  const result = await runOpenssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}-key.pem`), '-subj', '/CN=python', '-addext', `subjectAltName=URI:${spiffeId}`, '-out', join(dir, `${name}.csr`)]);
  expect(result.code).toBe(0);
}

beforeAll(async () => {
  ca = await startCaServer();
  dir = await mkdtemp(join(tmpdir(), 'weft-ca-python-'));
  await writeFile(join(dir, 'client.py'), client);
  await writeFile(join(dir, 'bundle.pem'), ca.ca.trustBundlePems.join(''));
  await run(PYTHON, ['-m', 'grpc_tools.protoc', `-I${join(contractFile('ca.proto'), '..')}`, `--python_out=${dir}`, `--grpc_python_out=${dir}`, contractFile('ca.proto')]);
});
afterAll(async () => {
  await ca.close();
  await rm(dir, { recursive: true, force: true });
});

describe('CertificateIssuer with a Python grpcio client and openssl CSRs', () => {
  it('issues for an openssl CSR with a token, then renews over mTLS with the issued certificate', async () => {
    await opensslCsr('first', id);
    const issued = await python('token', 'first.csr', await ca.tokens.mint({ spiffeId: id }));
    const chain = issued.chain as string[];
    expect(new X509Certificate(chain[0] as string).subjectAltName).toBe(`URI:${id}`);
    expect(issued.roots).toEqual([...ca.ca.trustBundlePems]);
    await writeFile(join(dir, 'chain.pem'), chain.join(''));
    await writeFile(join(dir, 'key.pem'), await readFile(join(dir, 'first-key.pem')));
    await opensslCsr('second', id);
    const renewed = await python('renew', 'second.csr');
    expect(new X509Certificate((renewed.chain as string[])[0] as string).subjectAltName).toBe(`URI:${id}`);
    expect(ca.audit.at(-1)).toMatchObject({ event: 'certificate.issued', credential: 'certificate', spiffeId: id });
  });

  it('refuses an openssl CSR for another identity with PERMISSION_DENIED, and a bad token with UNAUTHENTICATED', async () => {
    await opensslCsr('other', testId('admin'));
    expect(await python('token', 'other.csr', await ca.tokens.mint({ spiffeId: id }))).toMatchObject({ code: 'PERMISSION_DENIED', details: expect.stringContaining('IDENTITY_MISMATCH') });
    expect(await python('token', 'other.csr', 'not-a-token')).toMatchObject({ code: 'UNAUTHENTICATED', details: expect.stringContaining('TOKEN_MALFORMED') });
  });
});
