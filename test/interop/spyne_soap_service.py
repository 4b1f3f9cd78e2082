"""A SOAP service built with spyne (Debian python3-spyne), the legacy peer of the bridge tests.

/usr/bin/python3 spyne_soap_service.py PORT WSSE_PASSWORD [WORKERS]
serves on 127.0.0.1:PORT (PORT 0: any free port, printed as `listening PORT`), from WORKERS
processes sharing the listening socket (default 1; a production WSGI deployment runs several, so
a benchmark's service is not held to one interpreter's lock):
  /soap11, /soap12      the CRM service over SOAP 1.1 and 1.2 (WSDL at ?wsdl), input validated
                        against its schema by lxml
  /secure11             the same service; every call must carry a WS-Security UsernameToken for
                        user `bridge` with WSSE_PASSWORD (PasswordText or PasswordDigest), which
                        this service checks itself
  /stub/<name>          canned answers no real service gives on purpose: a fault with HTTP 200,
                        HTML and empty 5xx, a DOCTYPE with an external entity, an entity bomb
"""
import base64
import hashlib
import os
import sys
import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from lxml import etree
from spyne import (Application, Boolean, ComplexModel, DateTime, Decimal, Double, Fault, Integer32, Long,
                   ServiceBase, Unicode, Array, XmlAttribute, XmlData, rpc)
from spyne.protocol.soap import Soap11, Soap12
from spyne.server.wsgi import WsgiApplication
from spyne.util.wsgi_wrapper import WsgiMounter

NS = 'urn:weft:crm'
WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd'
WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd'
PASSWORD = sys.argv[2] if len(sys.argv) > 2 else 'secret'


class Customer(ComplexModel):
    __namespace__ = NS
    id = Integer32(min_occurs=1)
    name = Unicode(min_occurs=1)
    balance = Decimal
    active = Boolean
    created = DateTime
    score = Double
    account_number = Long
    nickname = Unicode(nillable=True)
    tags = Array(Unicode)


class OrderLine(ComplexModel):
    __namespace__ = NS
    sku = Unicode(min_occurs=1)
    quantity = Integer32(min_occurs=1)
    price = Decimal(min_occurs=1)


class Order(ComplexModel):
    __namespace__ = NS
    customer_id = Integer32(min_occurs=1)
    lines = Array(OrderLine)
    note = Unicode


class OrderTotal(ComplexModel):
    __namespace__ = NS
    lines = Integer32
    total = Decimal
    note = Unicode


class Price(ComplexModel):
    """Simple content: the amount is the element's text, its currency an attribute."""
    __namespace__ = NS
    currency = XmlAttribute(Unicode)
    amount = XmlData(Decimal)


class Item(ComplexModel):
    __namespace__ = NS
    id = XmlAttribute(Long)
    sku = Unicode(min_occurs=1)
    price = Price


class CrmService(ServiceBase):
    @rpc(Item.customize(min_occurs=1), _returns=Item)
    def Reprice(ctx, item):
        """The item back with its id + 1 and its price doubled, in the same currency."""
        return Item(id=item.id + 1, sku=item.sku, price=Price(currency=item.price.currency, amount=item.price.amount * 2))

    @rpc(Integer32(min_occurs=1), _returns=Customer)
    def GetCustomer(ctx, customer_id):
        if customer_id == 404:
            raise Fault(faultcode='Client.NotFound', faultstring='no customer %d' % customer_id)
        return Customer(id=customer_id, name='Ada <Lovelace> & Co', balance=__import__('decimal').Decimal('12345678901234567.89'),
                        active=True, created=__import__('datetime').datetime(2024, 2, 29, 13, 45, 7),
                        score=0.1, account_number=9007199254740993, nickname=None, tags=['vip', 'early'])

    @rpc(Unicode(min_occurs=1), _returns=Unicode)
    def Echo(ctx, text):
        return text

    @rpc(Order.customize(min_occurs=1), _returns=OrderTotal)
    def PlaceOrder(ctx, order):
        lines = order.lines or []
        return OrderTotal(lines=len(lines), total=sum((line.price * line.quantity for line in lines), __import__('decimal').Decimal(0)),
                          note=order.note)

    @rpc(_returns=Unicode)
    def Crash(ctx):
        raise RuntimeError('database exploded at /srv/crm/db.py line 42')

    @rpc(Integer32(min_occurs=1), _returns=Unicode)
    def Slow(ctx, milliseconds):
        time.sleep(milliseconds / 1000)
        return 'late'

    @rpc(_returns=Unicode)
    def WhoAmI(ctx):
        return getattr(ctx.udc, 'user', 'anonymous') if ctx.udc else 'anonymous'


class User:
    def __init__(self, user):
        self.user = user


def check_username_token(ctx):
    headers = ctx.in_header_doc or []
    token = None
    for header in headers:
        if etree.QName(header).localname == 'Security':
            token = header.find('{%s}UsernameToken' % WSSE)
    if token is None:
        raise Fault(faultcode='Client.Authentication', faultstring='no UsernameToken')
    username = token.findtext('{%s}Username' % WSSE)
    password = token.find('{%s}Password' % WSSE)
    kind = (password.get('Type') or '').rsplit('#', 1)[-1]
    if kind == 'PasswordDigest':
        nonce = base64.b64decode(token.findtext('{%s}Nonce' % WSSE))
        created = token.findtext('{%s}Created' % WSU)
        expected = base64.b64encode(hashlib.sha1(nonce + created.encode() + PASSWORD.encode()).digest()).decode()
    else:
        expected = PASSWORD
    if username != 'bridge' or password.text != expected:
        raise Fault(faultcode='Client.Authentication', faultstring='bad UsernameToken (%s)' % kind)
    ctx.udc = User('%s/%s' % (username, kind))


def application(protocol_in, protocol_out, secure=False):
    app = Application([CrmService], NS, name='CrmApplication', in_protocol=protocol_in, out_protocol=protocol_out)
    if secure:
        app.event_manager.add_listener('method_call', check_username_token)
    return WsgiApplication(app)


FAULT_200 = b'''<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<soap:Fault><faultcode>soap:Client.NotFound</faultcode><faultstring>gone (with HTTP 200)</faultstring></soap:Fault>
</soap:Body></soap:Envelope>'''
XXE = b'''<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<tns:EchoResponse xmlns:tns="urn:weft:crm"><tns:EchoResult>&x;</tns:EchoResult></tns:EchoResponse></soap:Body></soap:Envelope>'''
BOMB = b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa">' + b''.join(
    b'<!ENTITY %c "%s">' % (ord('b') + i, (b'&' + bytes([ord('a') + i]) + b';') * 10) for i in range(8)) + b''']>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<tns:EchoResponse xmlns:tns="urn:weft:crm"><tns:EchoResult>&i;</tns:EchoResult></tns:EchoResponse></soap:Body></soap:Envelope>'''
STUBS = {
    'fault200': ('200 OK', 'text/xml; charset=utf-8', FAULT_200),
    'html500': ('500 Internal Server Error', 'text/html', b'<html><body><h1>Proxy error</h1></body></html>'),
    'empty500': ('503 Service Unavailable', 'text/xml', b''),
    'xxe': ('200 OK', 'text/xml', XXE),
    'bomb': ('200 OK', 'text/xml', BOMB),
}


def stubs(environ, start_response):
    status, content_type, body = STUBS[environ['PATH_INFO'].strip('/')]
    length = int(environ.get('CONTENT_LENGTH') or 0)
    environ['wsgi.input'].read(length)
    start_response(status, [('Content-Type', content_type), ('Content-Length', str(len(body)))])
    return [body]


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    # HTTP/1.0 (wsgiref's default): wsgiref answers one request per connection, which HTTP/1.1
    # clients would take for keep-alive and reuse a connection the server has closed.
    def log_message(self, *args):
        pass


def main():
    mounter = WsgiMounter({
        'soap11': application(Soap11(validator='lxml'), Soap11()),
        'soap12': application(Soap12(validator='lxml'), Soap12()),
        'secure11': application(Soap11(validator='lxml'), Soap11(), secure=True),
        'stub': stubs,
    })
    server = make_server('127.0.0.1', int(sys.argv[1]), mounter, server_class=ThreadingServer, handler_class=QuietHandler)
    print('listening %d' % server.server_port, flush=True)
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    is_child = False
    for _ in range(workers - 1):
        is_child = os.fork() == 0
        if is_child:
            break
    # Every worker stops when stdin closes (they share the pipe, so all see its end).
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    server.serve_forever()
    if is_child:
        os._exit(0)


if __name__ == '__main__':
    main()
