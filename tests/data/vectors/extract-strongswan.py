#!/usr/bin/env python3
"""Turn one strongSwan-to-strongSwan lab run (charon logs at --log-level keys + the tshark capture)
into a JSON vector file for IkeActors.Crypto.Tests. Only numbers are taken: the values charon logs
(g^xy, SKEYID*, Ka, IVs, HASH_I/R, Hash(1..3), ESP keys, NAT-D) and the ISAKMP messages as they
crossed the wire. Usage: extract-strongswan.py NAME DESCRIPTION INITIATOR_LOG RESPONDER_LOG PCAP > NAME.json
"""
import json, re, subprocess, sys

name, description, ilog, rlog, pcap = sys.argv[1:6]

def dumps(path):
    out, cur = [], None
    head = re.compile(r'\] <[^>]*> (.+?) => (\d+) bytes @ 0x[0-9a-f]+$')
    row = re.compile(r'\] <[^>]*>\s+(\d+): ((?:[0-9A-F]{2} )+)')
    for line in open(path, encoding='utf-8', errors='replace'):
        line = line.rstrip('\n')
        m = head.search(line)
        if m:
            cur = [m.group(1), int(m.group(2)), '']
            out.append(cur)
            continue
        m = row.search(line)
        if m and cur is not None and len(cur[2]) < 2 * cur[1]:
            cur[2] += m.group(2).replace(' ', '')
    for c in out:
        c[2] = c[2][: 2 * c[1]]
        assert len(c[2]) == 2 * c[1], c
    return [(n, h.lower()) for n, _, h in out]

def first(d, key):
    vals = [h for n, h in d if n == key]
    return vals[0] if vals else None

def all_of(d, key):
    return [h for n, h in d if n == key]

def proposals(path):
    return [l.split('selected proposal: ')[1].strip() for l in open(path) if 'selected proposal:' in l]

def side(path):
    d = dumps(path)
    r = {
        "selectedProposals": proposals(path),
        "gxy": first(d, "shared Diffie Hellman secret"),
        "skeyid": first(d, "SKEYID"), "skeyidD": first(d, "SKEYID_d"),
        "skeyidA": first(d, "SKEYID_a"), "skeyidE": first(d, "SKEYID_e"),
        "encKey": first(d, "encryption key Ka"), "initialIv": first(d, "initial IV"),
        "hashIData": first(d, "HASH_I data"), "hashI": first(d, "HASH_I"),
        "hashRData": first(d, "HASH_R data"), "hashR": first(d, "HASH_R"),
        "natd": [{"chunk": c, "hash": h} for (n1, c), (n2, h) in zip(d, d[1:]) if n1 == "natd_chunk" and n2 == "natd_hash"],
        "nextIvs": [{"messageId": int(n.split()[-1]), "iv": h} for n, h in d if n.startswith("next IV for MID ")],
        "qmHash1": first(d, "Hash(1)"), "qmHash2": first(d, "Hash(2)"), "qmHash3": first(d, "Hash(3)"),
        "qmDhSecret": first(d, "DH secret"),
        "initiatorSaSeed": first(d, "initiator SA seed"), "responderSaSeed": first(d, "responder SA seed"),
        "encInitiatorKey": first(d, "encryption initiator key"), "encResponderKey": first(d, "encryption responder key"),
        "integInitiatorKey": first(d, "integrity initiator key"), "integResponderKey": first(d, "integrity responder key"),
        "informationalHashes": all_of(d, "Hash"),
    }
    return {k: v for k, v in r.items() if v not in (None, [])}

def messages():
    out = subprocess.run(["tshark", "-r", pcap, "-Y", "isakmp", "-T", "fields", "-e", "frame.number",
                          "-e", "ip.src", "-e", "ip.dst", "-e", "udp.srcport", "-e", "udp.payload"],
                         capture_output=True, text=True, check=True).stdout
    msgs = []
    for line in out.splitlines():
        frame, src, dst, sport, payload = line.split('\t')
        if sport == '4500':
            assert payload.startswith('00000000'), 'expected the non-ESP marker'
            payload = payload[8:]
        msgs.append({"frame": int(frame), "src": src, "dst": dst, "isakmp": payload})
    return msgs

def payload_body(msg_hex, wanted):
    """Body of the first payload of type `wanted` in an unencrypted message."""
    b = bytes.fromhex(msg_hex)
    nxt, off = b[16], 28
    while nxt and off + 4 <= len(b):
        ln = int.from_bytes(b[off + 2:off + 4], 'big')
        if nxt == wanted:
            return b[off + 4:off + ln].hex()
        nxt, off = b[off], off + ln
    return None

msgs = messages()
mm = [m for m in msgs if m["isakmp"][36:38] == '02']  # exchange type 2 = Identity Protection
doc = {
    "name": name,
    "about": description,
    "psk_ascii": "cisco",
    "ckyI": msgs[0]["isakmp"][:16], "ckyR": msgs[1]["isakmp"][16:32],
    "saiBody": payload_body(mm[0]["isakmp"], 1),
    "gxi": payload_body(mm[2]["isakmp"], 4), "gxr": payload_body(mm[3]["isakmp"], 4),
    "niBody": payload_body(mm[2]["isakmp"], 10), "nrBody": payload_body(mm[3]["isakmp"], 10),
    "initiator": side(ilog),
    "responder": side(rlog),
    "messages": msgs,
}
json.dump(doc, sys.stdout, indent=1)
print()
