"""The envelopes python3-zeep (Debian) builds for given calls: an independent SOAP client to
cross-check the bridge's.

/usr/bin/python3 zeep_envelopes.py < calls.json
stdin: [{"wsdl": URL, "operation": NAME, "args": {...}}, ...]; stdout: [{"soapAction": ...,
"envelope": XML}, ...] in the same order. Nothing is sent to the service.
"""
import json
import sys

from lxml import etree
from zeep import Client

clients = {}
answers = []
for call in json.load(sys.stdin):
    client = clients.get(call['wsdl']) or clients.setdefault(call['wsdl'], Client(call['wsdl']))
    envelope = client.create_message(client.service, call['operation'], **call['args'])
    operation = client.service._binding.get(call['operation'])
    answers.append({'soapAction': operation.soapaction, 'envelope': etree.tostring(envelope).decode()})
json.dump(answers, sys.stdout)
