"""Every answer leaves a worker in one write: headers never go out alone ahead of their body.

Why it matters (service/whole_response.py): a replica killed between the two writes leaves its proxy
holding headers it has already forwarded, so the client gets a cut answer that no retry can mend; with
one write the proxy gets all or nothing and replays "nothing" on another replica. The kill itself is
timing luck (tests/test_replicas_haproxy.py kills under load); this checks the writes themselves: a
wrapper around ``ckg serve`` records, in the worker processes, every ``sendall`` that starts an answer.
"""
from __future__ import annotations

import json
import sys
import textwrap
import urllib.error
import urllib.parse
import urllib.request

from tests.conftest import start_server


def recording_server(record):
    script = textwrap.dedent(f"""
        import json, socket, sys
        original = socket.socket.sendall
        def recording(self, data, *args):
            if bytes(data[:7]) == b"HTTP/1.":
                head, _, rest = bytes(data).partition(b"\\r\\n\\r\\n")
                length = [line.split(b":", 1)[1].strip() for line in head.split(b"\\r\\n")
                          if line.lower().startswith(b"content-length:")]
                with open({str(record)!r}, "a") as out:
                    out.write(json.dumps({{"status": head.split(b" ")[1].decode(), "length": int(length[0]) if length else None,
                                          "chunked": b"chunked" in head.lower(), "body_with_head": len(rest)}}) + "\\n")
            return original(self, data, *args)
        socket.socket.sendall = recording
        sys.argv = ["ckg", *sys.argv[1:]]
        from ckg.cli import main
        main()
    """)
    wrapper = record.with_name("serve_wrapper.py")
    wrapper.write_text(script)
    return start_server("--workers", "1", "--threads", "2", runner=[sys.executable, str(wrapper)])


def get(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def test_headers_go_out_with_the_body_in_one_write(tmp_path):
    record = tmp_path / "writes.jsonl"
    with recording_server(record) as url:
        paths = ["competency/klantgerichtheid", "competency/klantgerichtheid.ttl", "competency/?format=html",
                 "downloads/catalogue.nt", "ims/case/v1p1/CFPackages/045d49b4-2bfd-5af9-8619-b5167aaed853",
                 "sparql?" + urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 50"}),
                 "competency/no-such-thing", "sparql?query=SELEKT"]
        statuses = [get(url + path) for path in paths]
        with urllib.request.urlopen(url + "competency/klantgerichtheid.ttl", timeout=30) as response:
            etag = response.headers["ETag"]
        statuses.append(get(url + "competency/klantgerichtheid.ttl", {"If-None-Match": etag}))
    assert statuses == [200, 200, 200, 200, 200, 200, 404, 400, 304]
    writes = [json.loads(line) for line in record.read_text().splitlines()]
    with_body = [w for w in writes if w["chunked"] or (w["length"] or 0) > 0]
    assert len(with_body) >= 8, writes
    alone = [w for w in with_body if w["body_with_head"] == 0]
    assert alone == [], f"headers written without their body: {alone}"
    # A body-less answer (the 304) still gets its headers, on close.
    assert any(w["status"] == "304" for w in writes), writes
