"""Default resources, and rendering an aiocoap `Site` without aiocoap's `Context`.

The Context server layer would auto-ACK and deduplicate behind the test's back, so the
server renders the Site itself on a private event loop and builds the answer. It renders
through the Site's pipe interface, where aiocoap does block-wise transfers (RFC 7959: Block1
requests reassembled with 2.31 Continue, large responses served in Block2 blocks); a request
with a critical option it does not serve gets 4.02 Bad Option (RFC 7252 5.4.1).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Optional

import aiocoap
from aiocoap import error, interfaces, resource
from aiocoap.numbers.codes import Code
from aiocoap.numbers.optionnumbers import OptionNumber
from aiocoap.pipe import Pipe

LARGE_PAYLOAD = bytes((i % 64) + 0x30 for i in range(1024))
TEXT_PLAIN = 0
#: the options served: those aiocoap's message layer and Site understand (Uri-*, Block1/2, If-*,
#: Accept...), but not the security layers this server does not speak (RFC 8613 8.2: 4.02)
SERVED_OPTIONS = frozenset(int(number) for number in OptionNumber) - {OptionNumber.OSCORE, OptionNumber.EDHOC}
log = logging.getLogger(__name__)


class PeerAddress(interfaces.EndpointAddress):
    """Minimal remote for `request.remote` (resources may log or hash it)."""

    def __init__(self, peer: tuple[str, int], local: tuple[str, int], scheme: str) -> None:
        self._peer, self._local, self._scheme = peer, local, scheme

    @staticmethod
    def _join(addr: tuple[str, int]) -> str:
        host = f"[{addr[0]}]" if ":" in addr[0] else addr[0]
        return f"{host}:{addr[1]}"

    hostinfo = property(lambda self: self._join(self._peer))
    hostinfo_local = property(lambda self: self._join(self._local))
    uri_base = property(lambda self: f"{self._scheme}://{self.hostinfo}")
    uri_base_local = property(lambda self: f"{self._scheme}://{self.hostinfo_local}")
    is_multicast = False
    is_multicast_locally = False
    scheme = property(lambda self: self._scheme)

    @property
    def blockwise_key(self):
        return (self._scheme, self._peer)


class TextResource(resource.Resource):
    """`/19`: the resource the application note's example talks to."""

    def __init__(self, text: bytes = b"BG96 reference server resource 19") -> None:
        super().__init__()
        self.text = text

    async def render_get(self, request):
        return aiocoap.Message(code=Code.CONTENT, payload=self.text, content_format=TEXT_PLAIN)

    async def render_post(self, request):
        self.text = request.payload or self.text
        return aiocoap.Message(code=Code.CHANGED)

    async def render_put(self, request):
        self.text = request.payload
        return aiocoap.Message(code=Code.CHANGED)


class EchoResource(resource.Resource):
    """`/echo`: payload and Content-Format back, for any method."""

    async def _echo(self, request):
        msg = aiocoap.Message(code=Code.CONTENT, payload=request.payload)
        if request.opt.content_format is not None:
            msg.opt.content_format = request.opt.content_format
        return msg

    render_get = render_post = render_put = _echo

    async def render_delete(self, request):
        return aiocoap.Message(code=Code.DELETED, payload=request.payload)


class LargeResource(resource.Resource):
    """`/large`: 1024 bytes, more than one default block."""

    async def render_get(self, request):
        return aiocoap.Message(code=Code.CONTENT, payload=LARGE_PAYLOAD, content_format=TEXT_PLAIN)


def default_site() -> resource.Site:
    site = resource.Site()
    site.add_resource([".well-known", "core"], resource.WKCResource(site.get_resources_as_linkheader, impl_info=None))
    site.add_resource(["19"], TextResource())
    site.add_resource(["echo"], EchoResource())
    site.add_resource(["large"], LargeResource())
    return site


class SiteRenderer:
    """Owns a private asyncio loop (used only from the server thread)."""

    def __init__(self, site: resource.Site) -> None:
        self.site = site
        self._loop = asyncio.new_event_loop()

    def render(self, raw: bytes, remote: interfaces.EndpointAddress) -> Optional[aiocoap.Message]:
        """Response message (code, options, payload) for a request; None if not a request."""
        try:
            request = aiocoap.Message.decode(raw, remote)
        except Exception:
            return None
        if not request.code.is_request():
            return None
        unserved = unknown_critical_options(request)
        if unserved:
            return aiocoap.Message(code=Code.BAD_OPTION,
                                   payload=f"critical option {', '.join(map(str, unserved))} not served".encode())
        try:
            return self._run(self._render(request))
        except error.RenderableError as e:
            return e.to_message()
        except Exception as e:  # a broken custom resource must not kill the server
            return aiocoap.Message(code=Code.INTERNAL_SERVER_ERROR, payload=repr(e).encode()[:200])

    async def _render(self, request: aiocoap.Message) -> aiocoap.Message:
        """The Site's answer through its pipe, where aiocoap's block-wise handling sits."""
        pipe = Pipe(request, log)
        answers: list[Pipe.Event] = []
        pipe.on_event(lambda event: answers.append(event) or not event.is_last)
        await self.site.render_to_pipe(pipe)
        if not answers:
            raise error.InternalServerError("the site gave no answer")
        if answers[0].exception is not None:
            raise answers[0].exception
        return answers[0].message

    def _run(self, coro):
        """No wait_for wrapper: it costs a task and a timer per request on the flood path."""
        return self._loop.run_until_complete(coro)

    def close(self) -> None:
        self._loop.close()


def unknown_critical_options(request: aiocoap.Message) -> list[int]:
    """Critical option numbers (odd, RFC 7252 5.4.1) in ``request`` that the server does not serve."""
    return sorted({int(o.number) for o in request.opt.option_list()
                   if o.number.is_critical() and int(o.number) not in SERVED_OPTIONS})
