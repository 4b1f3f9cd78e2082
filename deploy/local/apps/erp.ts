// Demo app `erp`: a SOAP 1.1 service standing in for a legacy ERP (CustomerService, WSDL in
// customer-service.wsdl, written with the `soap` package). Callers never speak SOAP to it: erp's
// sidecar runs the legacy bridge (../legacy-bridge.yaml), so web sends JSON to
// `POST http://erp/soap/CustomerService/GetCustomer`. An unknown customer is a SOAP fault
// `Client.CustomerNotFound`, which the bridge maps to 404.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { listen } from 'soap';
import { appEnv, stopOnSignals } from './app-env.js';

const customers = new Map([
  ['42', { id: '42', name: 'Grace Hopper', country: 'US', creditLimit: 50000 }],
  ['7', { id: '7', name: 'Edsger Dijkstra', country: 'NL', creditLimit: 20000 }],
]);

const wsdlFile = process.argv[2];
if (wsdlFile === undefined) {
  process.stderr.write('usage: erp WSDL-FILE\n');
  process.exit(2);
}
const wsdl = readFileSync(wsdlFile, 'utf8');
const { port } = appEnv();

const services = {
  CustomerService: {
    CustomerPort: {
      GetCustomer(args: { customerId?: string }) {
        const customer = customers.get(String(args.customerId ?? ''));
        if (customer === undefined) {
          throw { Fault: { faultcode: 'soap:Client.CustomerNotFound', faultstring: `no customer ${String(args.customerId)}`, statusCode: 500 } };
        }
        return { customer };
      },
    },
  },
};

const server = createServer((_req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
listen(server, { path: '/CustomerService', services, xml: wsdl, suppressStack: true });
server.listen(port, '127.0.0.1', () => process.stderr.write(`erp: CustomerService (SOAP) on 127.0.0.1:${port}/CustomerService\n`));
stopOnSignals('erp', () => new Promise((resolve) => server.close(() => resolve())));
