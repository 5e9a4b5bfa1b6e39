#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/), deterministically.

The seeds are committed; this script says what each one is and rewrites them after a change of
the contract or the shipped configuration:  tests/fuzz/make_seeds.py  (needs protoc).

A target that reads its mode from the input (token, cursor) takes it from the LAST byte:
FuzzedDataProvider consumes integers from the end of the data and strings from the front.
"""
import base64
import hashlib
import hmac
import json
import pathlib
import shutil
import subprocess

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"

# As in token_fuzz.cc.
SECRET = b"fuzz-secret-0123456789abcdef0123456789"
NOW = 1795998600  # 2026-11-30T00:30:00Z, the fuzz targets' clock, in seconds.
SUBDISTRICTS = ["370212001", "370212002", "370212003", "370212004", "370212005"]


def write(target, name, data):
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def encode(message, text):
    """A protobuf text-format message, binary-encoded by protoc."""
    return subprocess.run(
        ["protoc", f"--proto_path={ROOT / 'proto'}", "--proto_path=/usr/include",
         f"--encode={message}", "grid/v1/intake.proto", "grid/v1/event.proto"],
        input=text.encode(), capture_output=True, check=True).stdout


def report_seeds():
    worker = 'actor { subject: "W3702120010010101" role: ROLE_WORKER unit_id: "37021200100101" }'
    seeds = {
        # A grid worker reports in their own grid, with a GPS fix inside the district.
        "worker-valid": f'''report {{ reporter_id: "W3702120010010101" grid_id: "37021200100101"
            location {{ lat: 36.113337 lng: 120.433758 }} category: "0102"
            severity: SEVERITY_NORMAL description: "暴露垃圾" source: SOURCE_GRID_WORKER }}
            {worker}''',
        # An operator files an offline report anywhere: media, address, request id, own time.
        "operator-offline": '''report { client_request_id: "req-1" grid_id: "37021200101604"
            address: "崂山区张家涧社区" category: "0408" severity: SEVERITY_HIGH
            description: "夜间施工噪音" media: "s3://photos/1.jpg" media: "https://x/2.mp4"
            source: SOURCE_HOTLINE reported_at { seconds: 1795990000 nanos: 5 } }
            actor { subject: "op1" role: ROLE_OPERATOR unit_id: "370212" }''',
        # A worker reporting in another community's grid.
        "worker-elsewhere": f'''report {{ reporter_id: "W3702120010010101"
            grid_id: "37021200101604" category: "0102" severity: SEVERITY_LOW
            description: "x" }} {worker}''',
        # Description that is not UTF-8 (octal escapes are raw bytes).
        "bad-utf8": f'''report {{ grid_id: "37021200100101" category: "0102"
            severity: SEVERITY_NORMAL description: "\\377\\376" }} {worker}''',
        # Coordinates that are not numbers, and out of range.
        "nan-location": f'''report {{ grid_id: "37021200100101" category: "0102"
            severity: SEVERITY_NORMAL description: "d" location {{ lat: nan lng: inf }} }}
            {worker}''',
        # An unknown grid and category, an unknown enum number.
        "unknown-all": '''report { grid_id: "{370212}*\\r\\n" category: "9999" severity: 42
            description: "d" } actor { subject: "a" role: ROLE_ADMIN unit_id: "370212" }''',
    }
    for name, text in seeds.items():
        write("report", name, encode("grid.v1.ReportEventRequest", text))


TOPOLOGY = {
    "district_id": "370212",
    "bounds": {"south_west": {"lat": 36.05, "lng": 120.43},
               "north_east": {"lat": 36.33, "lng": 120.72}},
    "units": [
        {"id": "370212", "level": "LEVEL_DISTRICT", "name": "崂山区"},
        {"id": "370212D01", "level": "LEVEL_DISTRICT", "parent_id": "370212",
         "kind": "UNIT_KIND_DEPARTMENT", "categories": ["0102"]},
        {"id": "370212001", "level": "LEVEL_SUBDISTRICT", "parent_id": "370212"},
        {"id": "370212001A", "level": "LEVEL_ZONE", "parent_id": "370212001"},
        {"id": "370212001001", "level": "LEVEL_COMMUNITY", "parent_id": "370212001A"},
        {"id": "37021200100101", "level": "LEVEL_GRID", "parent_id": "370212001001",
         "center": {"lat": 36.11, "lng": 120.43}},
    ],
    "workers": [{"id": "W3702120010010101", "name": "赵文凤", "grid_id": "37021200100101"}],
}


def topology_seeds():
    write("topology", "valid.json", json.dumps(TOPOLOGY, ensure_ascii=False))
    # A grid hung directly under a subdistrict (skips two levels).
    skip = json.loads(json.dumps(TOPOLOGY))
    skip["units"][5]["parent_id"] = "370212001"
    write("topology", "skipped-level.json", json.dumps(skip))
    # The same id twice, and a worker in an unknown grid.
    dup = json.loads(json.dumps(TOPOLOGY))
    dup["units"].append(dict(dup["units"][4]))
    dup["workers"][0]["grid_id"] = "37021200100199"
    write("topology", "duplicate.json", json.dumps(dup))
    # A misspelt key and an unknown enum name.
    write("topology", "misspelt.json",
          '{"district_id":"1","units":[{"id":"1","level":"LEVEL_PROVINCE","parnet_id":""}]}')


POLICY = {
    "categories": [{"code": "01", "name": "市容环境"}, {"code": "0102", "name": "暴露垃圾"}],
    "rules": [
        {"id": "default", "category_prefix": "", "start_level": "LEVEL_COMMUNITY",
         "department_id": "370212D01",
         "limits": [{"level": lvl, "accept": "7200s", "resolve": "27000s"}
                    for lvl in ["LEVEL_COMMUNITY", "LEVEL_ZONE", "LEVEL_SUBDISTRICT",
                                "LEVEL_DISTRICT"]],
         "time_basis": "TIME_BASIS_WORKING_TIME"},
        {"id": "urgent", "category_prefix": "0102", "severities": ["SEVERITY_CRITICAL"],
         "start_level": "LEVEL_DISTRICT",
         "limits": [{"level": "LEVEL_DISTRICT", "accept": "600s", "resolve": "3600s"}]},
    ],
    "calendar": {"utc_offset_minutes": 480, "working_weekdays": [1, 2, 3, 4, 5],
                 "hours": [{"start_minute": 510, "end_minute": 720},
                           {"start_minute": 810, "end_minute": 1050}],
                 "holidays": ["2026-12-01"], "extra_working_days": ["2026-12-05"]},
    "duplicates": {"enabled": True, "radius_meters": 100, "window": "1800s"},
    "reminder_interval": "3600s",
}


def policy_seeds():
    write("policy", "valid.json", json.dumps(POLICY, ensure_ascii=False))
    # Working time without a calendar.
    no_calendar = json.loads(json.dumps(POLICY))
    del no_calendar["calendar"]
    write("policy", "no-calendar.json", json.dumps(no_calendar))
    # An unknown department, and a limit that resolves before it accepts.
    bad = json.loads(json.dumps(POLICY))
    bad["rules"][0]["department_id"] = "370212D99"
    bad["rules"][1]["limits"][0]["resolve"] = "1s"
    write("policy", "bad-rule.json", json.dumps(bad))
    # A calendar whose day is almost all working time, with a very long limit.
    long = json.loads(json.dumps(POLICY))
    long["calendar"]["hours"] = [{"start_minute": 0, "end_minute": 1440}]
    long["rules"][0]["limits"][0]["accept"] = "315576000000s"
    long["rules"][0]["limits"][0]["resolve"] = "315576000000s"
    write("policy", "long-limit.json", json.dumps(long))


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims, alg="HS256", secret=SECRET):
    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    if alg == "none":
        return f"{head}.{body}."
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def token_seeds():
    admin = {"sub": "admin", "role": "ADMIN", "unit": "370212", "iat": NOW, "exp": NOW + 3600}
    raw = {
        "valid": jwt(admin),
        "expired": jwt(dict(admin, exp=NOW - 1)),
        "foreign-secret": jwt(admin, secret=b"another-secret-0123456789abcdef012345"),
        "alg-none": jwt(admin, alg="none"),
        "unknown-unit": jwt(dict(admin, unit="370212999")),
        "garbage": "Bearer a.b.c",
    }
    for name, text in raw.items():
        write("token", f"raw-{name}", text.encode() + b"\x00")  # mode 0: raw token text
    claims = {
        "handler": {"sub": "h1", "role": "handler", "unit": "370212001", "exp": NOW + 60},
        "exp-string": {"sub": "h1", "role": "HANDLER", "unit": "370212001", "exp": "tomorrow"},
        "exp-huge": dict(admin, exp=9223372036854775807),
        "no-role": {"sub": "x", "unit": "370212", "exp": NOW + 60},
    }
    for name, value in claims.items():
        write("token", f"claims-{name}", json.dumps(value).encode() + b"\x01")  # mode 1
    # Mode 2: structured claims; the bytes are consumed as they come.
    write("token", "issued-a", b"worker\x00" + bytes(range(40)) + b"\x02")
    write("token", "issued-b", b"\xff" * 48 + b"\x02")


def cursor_seeds():
    positions = ",".join(f"{sd}=1795998600000-{i}" for i, sd in enumerate(SUBDISTRICTS))
    texts = {
        "valid": f"w1:{positions}",
        "zeros": "w1:" + ",".join(f"{sd}=0-0" for sd in SUBDISTRICTS),
        "one-missing": "w1:" + ",".join(f"{sd}=1-1" for sd in SUBDISTRICTS[:4]),
        "twice": f"w1:{positions},370212001=2-2",
        "huge": "w1:" + ",".join(f"{sd}=18446744073709551615-18446744073709551615"
                                 for sd in SUBDISTRICTS),
        "special": "w1:370212001=$,370212002=-,370212003=+",
        "watermark": "w2:1795998600000-18446744073709551615,370212002=1795998600004-1",
        "watermark-alone": "w2:1795998600000-18446744073709551615",
        "watermark-unknown": "w2:1-0,370212999=5-0,370212001=2-0",
    }
    for name, text in texts.items():
        write("cursor", f"text-{name}", text.encode() + b"\x00")  # mode 0
    write("cursor", "positions", bytes(range(80)) + b"\x01")  # mode 1
    write("cursor", "subdistricts", b"370212001\x00a,b=c\x00{x}\x00" + bytes(64) + b"\x02")


def resp(value):
    """RESP2 encoding: str -> bulk string, int -> integer, list -> array, None -> nil."""
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, (str, bytes)):
        data = value.encode() if isinstance(value, str) else value
        return b"$%d\r\n%s\r\n" % (len(data), data)
    return b"*%d\r\n" % len(value) + b"".join(resp(v) for v in value)


def stream_reply_seeds():
    change = encode("grid.v1.EventChange",
                    'event_id: "370212001-01JD0000000000000000000000" kind: CHANGE_KIND_REPORTED')
    live = [["1795998600000-0", ["c", change]], ["1795998600001-0", ["c", b"not a change"]]]
    write("stream_reply", "xreadgroup-routing",
          resp([["{370212001}:routing", [["1795998600000-0", ["id", "370212001-01JD"]],
                                         ["1795998600000-1", None]]]]))
    write("stream_reply", "xread-live", resp([["{370212001}:live", live],
                                              ["{370212002}:live", []]]))
    write("stream_reply", "xrange-live", resp(live))
    write("stream_reply", "nil-and-error", b"*-1\r\n-BUSYGROUP Consumer Group name already exists\r\n")
    write("stream_reply", "status-int", b"+OK\r\n:-9223372036854775808\r\n$3\r\n123\r\n")
    write("stream_reply", "odd-fields", resp([["s", [["1-1", ["c"]], ["x-y", ["c", "z"]],
                                                     ["1", "2", "3"]]]]))


def georeport_seeds():
    """Open311 query strings and form bodies (urlencoded), and one bare W3C datetime."""
    write("georeport", "post-form",
          "api_key=test-key&jurisdiction_id=370212&service_code=0102&lat=36.113337"
          "&long=120.433758&address_string=%E5%BC%A0%E5%AE%B6%E6%B6%A7"
          "&description=%E5%9E%83%E5%9C%BE+%26+%3C3%3E&media_url=https%3A%2F%2Fimg.example%2F1.jpg"
          "&email=a%40b.example&first_name=Li&phone=138")
    # No lat/long: refused, there is no geocoder.
    write("georeport", "post-address-only",
          "api_key=k&service_code=0102&address_string=%E9%A6%99%E6%B8%AF%E4%B8%9C%E8%B7%AF")
    write("georeport", "search",
          "api_key=k&service_request_id=370212001-01JDX,370212001-02&status=open,closed"
          "&service_code=0102&start_date=2026-11-01T08:00:00%2B08:00&end_date=2026-11-30")
    # More than 90 days: refused.
    write("georeport", "search-span",
          "api_key=k&start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00.5Z&status=closed")
    write("georeport", "datetime", "2026-11-30T16:15:00+08:00")
    # Bytes that are not UTF-8, a NUL escape, numbers that are not.
    write("georeport", "bad-bytes", "description=%FF%FE%00x&lat=nan&long=1e999&status=%ED%A0%80")


def main():
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    report_seeds()
    topology_seeds()
    policy_seeds()
    token_seeds()
    cursor_seeds()
    stream_reply_seeds()
    georeport_seeds()
    for target in sorted(CORPUS.iterdir()):
        print(f"{target.name}: {len(list(target.iterdir()))} seeds")


if __name__ == "__main__":
    main()
