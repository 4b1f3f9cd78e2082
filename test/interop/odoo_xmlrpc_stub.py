"""An Odoo-shaped XML-RPC server on Python's standard xmlrpc.server, for the bridge's interop tests.

/xmlrpc/2/common: version, authenticate, logins (the test's count) (db "weft", login "bridge", the password given as argv[2]).
/xmlrpc/2/object: execute_kw on res.partner (search_read, echo, types, and one method per Odoo
fault code), access checked on every call as Odoo does. /raw: fixed bodies Python's marshaller
would never send (ints past 32 bits, a DOCTYPE). Prints "listening PORT"; exits when stdin closes.
"""
import datetime
import sys
import threading
import traceback
import xmlrpc.client
from xmlrpc.server import MultiPathXMLRPCServer, SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

DB, LOGIN, UID = "weft", "bridge", 7
PASSWORD = sys.argv[2]
PARTNERS = [
    {"id": 1, "name": "Ada <Lovelace> & Co", "is_company": True, "email": False, "credit": 1234.5},
    {"id": 2, "name": "Grace Hopper", "is_company": False, "email": "grace@example.com", "credit": 0.0},
    {"id": 3, "name": "Odoo S.A.", "is_company": True, "email": "info@odoo.com", "credit": -17.25},
]


LOGINS = []


def authenticate(db, login, password, user_agent_env):
    LOGINS.append(login)
    return UID if (db, login, password) == (DB, LOGIN, PASSWORD) else False


def logins():
    """Not Odoo's: how many times authenticate was called, for the test that the bridge logs in once."""
    return len(LOGINS)


def version():
    return {"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0, ""], "protocol_version": 1}


def matches(record, domain):
    for field, operator, value in domain:
        if operator != "=":
            raise xmlrpc.client.Fault(2, "Unsupported operator %s" % operator)
        if record.get(field) != value:
            return False
    return True


def partner_method(method, args, kwargs):
    if method == "search_read":
        domain = args[0] if args else []
        fields = kwargs.get("fields") or list(PARTNERS[0])
        found = [{f: r[f] for f in fields + ["id"]} for r in PARTNERS if matches(r, domain)]
        return found[: kwargs.get("limit") or len(found)]
    if method == "echo":
        return args[0]
    if method == "types":
        # How Python received each value: the proof that the bridge sent the XML-RPC type meant.
        return [type(value).__name__ + ":" + (value.hex() if isinstance(value, bytes) else value.isoformat() if isinstance(value, datetime.datetime) else repr(value)) for value in args]
    if method == "warn":
        raise xmlrpc.client.Fault(2, "The partner needs a name")
    if method == "forbidden":
        raise xmlrpc.client.Fault(4, "You are not allowed to modify 'Contact' (res.partner) records.")
    if method == "crash":
        try:
            raise ZeroDivisionError("division by zero in res.partner.crash")
        except ZeroDivisionError:
            raise xmlrpc.client.Fault(1, traceback.format_exc())
    raise xmlrpc.client.Fault(2, "The method %s does not exist on res.partner" % method)


def execute_kw(db, uid, password, model, method, args, kwargs=None):
    if (db, uid, password) != (DB, UID, PASSWORD):
        raise xmlrpc.client.Fault(3, "Access Denied")
    if model != "res.partner":
        raise xmlrpc.client.Fault(2, "Object %s doesn't exist" % model)
    return partner_method(method, args, kwargs or {})


RAW = {
    "int_overflow": b"<methodResponse><params><param><value><int>2147483648</int></value></param></params></methodResponse>",
    "i8": b"<methodResponse><params><param><value><i8>9007199254740993</i8></value></param></params></methodResponse>",
    "doctype": b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x "boom">]><methodResponse><params><param><value>&x;</value></param></params></methodResponse>',
}


class AnyPathHandler(SimpleXMLRPCRequestHandler):
    rpc_paths = ()  # every path: the server's dispatchers decide (404-like fault for the others)


class RawDispatcher(SimpleXMLRPCDispatcher):
    def _marshaled_dispatch(self, data, dispatch_method=None, path=None):
        params, method = xmlrpc.client.loads(data)
        return RAW[method]


def main():
    server = MultiPathXMLRPCServer(("127.0.0.1", int(sys.argv[1])), requestHandler=AnyPathHandler, logRequests=False, allow_none=True)
    common = SimpleXMLRPCDispatcher(allow_none=True, encoding="utf-8")
    common.register_function(authenticate)
    common.register_function(version)
    common.register_function(logins)
    objects = SimpleXMLRPCDispatcher(allow_none=True, encoding="utf-8", use_builtin_types=True)
    objects.register_function(execute_kw)
    server.add_dispatcher("/xmlrpc/2/common", common)
    server.add_dispatcher("/xmlrpc/2/object", objects)
    server.add_dispatcher("/raw", RawDispatcher(allow_none=True, encoding="utf-8"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("listening %d" % server.server_address[1], flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
