"""The voicemail applications: leave a message, listen to messages, record a greeting.

Each application is a coroutine over a :class:`~.channel.Channel` (a call the
PBX answered), the domain :class:`~centralino.domain.ports.Mailboxes` port
and :class:`~.prompts.Prompts`; it returns when the call is over. The phone
hanging up at any point is normal: :class:`~.channel.HungUp` never escapes,
and what was recorded so far is kept (a message) or dropped (a greeting not
confirmed yet). The mailbox is the extension's number.

:func:`leave_message` (a caller reaches voicemail)
    The active greeting, else "The person at extension <digits> is not
    available. Please leave a message after the tone."; any key during the
    greeting skips to the beep. Then the beep and the recording, until '#',
    :attr:`VoicemailLimits.max_message_seconds` or hang-up. A message
    shorter than :attr:`VoicemailLimits.min_message_seconds` is dropped.
    Unless the caller hung up, "Your message has been saved. Goodbye." (or
    "...too short...") and the PBX hangs up. A mailbox whose voicemail is
    off says so and hangs up.

:func:`voicemail_menu` (the owner dials the voicemail code)
    The PIN, followed by '#' ('*' starts it again), unless the owner calls
    from their own phone and their settings do not require it; after
    :attr:`VoicemailLimits.pin_attempts` wrong PINs: "Goodbye." and hang-up.
    Then "You have N new messages and M saved messages", and the messages:
    new ones first, then saved ones, newest first within each folder. Each
    message: "Message from <digits>" (if ``announce_caller_id``),
    "Received <weekday month day at time>" (if ``announce_datetime``, said
    in ``tz``, the server's local zone by default), its audio, and the
    message menu:

    ====  =====================================================
    1     replay the message
    9     save it ("Message saved."), go to the next
    7     delete it ("Message deleted."), go to the next
    #     next message
    0     mailbox options
    star  back to the main menu (not announced)
    ====  =====================================================

    Keys work during the announcement and the audio too (type-ahead). A new
    message heard to its end is moved to the saved folder when the owner
    leaves it (as most PBXs do: a heard message stops lighting the lamp);
    one skipped before its end stays new. After the last message: "No more
    messages." and the main menu: 1 listen again (the list is read again),
    0 mailbox options, '*' goodbye. Mailbox options: 1 record a greeting,
    '*' back. A menu with no answer is repeated
    :attr:`VoicemailLimits.menu_repeats` times, then "Goodbye.".

:func:`record_greeting` (the greeting dial code, or mailbox options 1)
    "Record your greeting after the tone, then press pound", the beep, the
    recording (at most :attr:`VoicemailLimits.max_greeting_seconds`), played
    back, then "To keep it press 1, to record again press 2". Keeping it adds
    it to the mailbox's greetings as the active one ("Greeting saved.").
    The application does not ask for the PIN: whoever starts it decides
    (:func:`authenticate` is the same check as the menu's).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from centralino.domain.errors import NotFound
from centralino.domain.extension import Extension
from centralino.domain.ports import Mailboxes
from centralino.domain.voicemail import Greeting, MessageFolder, VoicemailMessage
from centralino.media.pcm import duration_of
from centralino.media.tones import beep

from .channel import Channel, HungUp, RecordEnd
from .prompts import Prompts

__all__ = [
    "VoicemailLimits",
    "authenticate",
    "leave_message",
    "record_greeting",
    "voicemail_menu",
]

_MAX_ENTRY = 32
_MessageAction = Callable[[str, str], Awaitable[None]]
"""``Mailboxes.save_message`` or ``delete_message``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VoicemailLimits:
    """Lengths, attempts and timeouts of the voicemail applications (seconds)."""

    max_message_seconds: float = 180.0
    min_message_seconds: float = 1.0
    """Shorter messages (and greetings) are dropped."""
    max_greeting_seconds: float = 60.0
    silence_seconds: float | None = None
    """End a message after this long without speech (None: never)."""
    pin_attempts: int = 3
    menu_timeout: float = 5.0
    """How long a menu (or the PIN) waits for the first key after its prompt."""
    digit_timeout: float = 3.0
    """How long the PIN entry waits between keys."""
    menu_repeats: int = 3
    """A menu with no (valid) answer is played this many times in all."""
    greeting_attempts: int = 5
    """How many times a greeting may be recorded in one go."""


DEFAULT_LIMITS = VoicemailLimits()


class PinGuard:
    """Wrong PINs per mailbox across calls: a mailbox is locked after too many.

    Three tries per call stop nobody who calls again; the guard counts wrong
    PINs per mailbox over ``window`` seconds and, past ``max_failures``,
    refuses every PIN (even the right one) for ``lock`` seconds. A right PIN
    clears the count.
    """

    def __init__(
        self,
        *,
        max_failures: int = 9,
        window: float = 900.0,
        lock: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lock = lock
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}

    def locked(self, mailbox: str) -> bool:
        """Whether PINs for ``mailbox`` are refused now."""
        until = self._locked_until.get(mailbox)
        if until is None:
            return False
        if self._clock() >= until:
            del self._locked_until[mailbox]
            return False
        return True

    def failed(self, mailbox: str) -> None:
        """A wrong PIN for ``mailbox``."""
        now = self._clock()
        recent = [at for at in self._failures.get(mailbox, []) if now - at < self.window]
        recent.append(now)
        if len(recent) >= self.max_failures:
            self._locked_until[mailbox] = now + self.lock
            recent = []
        self._failures[mailbox] = recent

    def succeeded(self, mailbox: str) -> None:
        """A right PIN for ``mailbox``: its count starts again."""
        self._failures.pop(mailbox, None)


async def leave_message(
    channel: Channel,
    mailboxes: Mailboxes,
    callee: Extension,
    prompts: Prompts,
    limits: VoicemailLimits = DEFAULT_LIMITS,
) -> VoicemailMessage | None:
    """Take a message for ``callee`` from the caller on ``channel`` (module docstring).

    Returns:
        The stored message, or None (voicemail off, nothing or too little recorded).
    """
    mailbox = callee.number
    message: VoicemailMessage | None = None
    try:
        if not callee.voicemail.enabled:
            await _finish(channel, prompts.say("mailbox-unavailable"))
            return None
        greeting = await mailboxes.active_greeting(mailbox)
        await channel.play(
            [greeting] if greeting is not None else prompts.default_greeting(mailbox)
        )
        channel.flush_digits()
        await channel.play(beep(), interrupt=False)
        channel.flush_digits()
        recording = await channel.record(
            max_seconds=limits.max_message_seconds,
            stop_keys="#",
            silence_seconds=limits.silence_seconds,
        )
        if duration_of(recording.pcm) >= limits.min_message_seconds:
            message = await mailboxes.leave_message(
                mailbox, caller=channel.caller, caller_name=channel.caller_name, pcm=recording.pcm
            )
        if recording.end is not RecordEnd.HUNG_UP:
            farewell = "message-saved-goodbye" if message is not None else "message-too-short"
            await _finish(channel, prompts.say(farewell))
    except HungUp:
        pass
    return message


async def voicemail_menu(
    channel: Channel,
    mailboxes: Mailboxes,
    owner: Extension,
    prompts: Prompts,
    *,
    own_phone: bool,
    limits: VoicemailLimits = DEFAULT_LIMITS,
    tz: dt.tzinfo | None = None,
    guard: PinGuard | None = None,
) -> None:
    """Let ``owner`` listen to their messages (module docstring).

    Args:
        own_phone: the call comes from one of the owner's own phones (the
            PIN may then be skipped, per ``owner.voicemail.require_pin``).
        tz: the zone dates are said in (None: the server's local zone).
    """
    with contextlib.suppress(HungUp):
        if own_phone and not owner.voicemail.require_pin:
            allowed = True
        else:
            allowed = await authenticate(channel, owner, prompts, limits, guard)
        if allowed:
            await _MailboxSession(channel, mailboxes, owner, prompts, limits, tz).run()
        await _finish(channel, prompts.say("goodbye"))


async def record_greeting(
    channel: Channel,
    mailboxes: Mailboxes,
    owner: Extension,
    prompts: Prompts,
    limits: VoicemailLimits = DEFAULT_LIMITS,
) -> Greeting | None:
    """Record a greeting for ``owner`` from the phone (module docstring).

    Returns:
        The new active greeting, or None (not confirmed, or the phone hung up first).
    """
    try:
        greeting = await _record_greeting(channel, mailboxes, owner, prompts, limits)
    except HungUp:
        return None
    with contextlib.suppress(HungUp):
        saved = prompts.say("greeting-saved") if greeting is not None else []
        await _finish(channel, [*saved, *prompts.say("goodbye")])
    return greeting


async def authenticate(
    channel: Channel,
    owner: Extension,
    prompts: Prompts,
    limits: VoicemailLimits = DEFAULT_LIMITS,
    guard: PinGuard | None = None,
) -> bool:
    """Ask for the owner's voicemail PIN, at most ``limits.pin_attempts`` times.

    Returns:
        Whether a right PIN was entered.

    Raises:
        HungUp: the phone hung up.
    """
    pin = owner.voicemail.pin
    for _ in range(limits.pin_attempts):
        await channel.play(prompts.say("enter-pin"))
        entered = await _read_entry(channel, limits)
        locked = guard is not None and guard.locked(owner.number)
        if not locked and pin is not None and hmac.compare_digest(entered.encode(), pin.encode()):
            if guard is not None:
                guard.succeeded(owner.number)
            return True
        channel.flush_digits()
        if entered:
            if guard is not None and not locked:
                guard.failed(owner.number)
            await channel.play(prompts.say("wrong-pin"))
    return False


async def _read_entry(channel: Channel, limits: VoicemailLimits) -> str:
    """Digits until '#' or a pause ('*' starts again)."""
    entered = ""
    timeout = limits.menu_timeout
    while len(entered) < _MAX_ENTRY:
        key = await channel.get_digit(timeout)
        if key is None or key == "#":
            break
        if key == "*":
            entered = ""
        elif key.isdigit():
            entered += key
        timeout = limits.digit_timeout
    return entered


async def _choose(
    channel: Channel,
    prompt: list[bytes],
    keys: str,
    prompts: Prompts,
    limits: VoicemailLimits,
    *,
    pending: bool = False,
) -> str | None:
    """Play a menu and return the key chosen among ``keys`` (None: no answer).

    ``pending``: a key is already waiting (it interrupted what played before):
    it is read without playing the menu first.
    """
    for _ in range(limits.menu_repeats):
        if not pending:
            await channel.play(prompt)
        pending = False
        key = await channel.get_digit(limits.menu_timeout)
        if key is None:
            continue
        if key in keys:
            return key
        channel.flush_digits()
        await channel.play(prompts.say("invalid-key"))
    return None


async def _finish(channel: Channel, farewell: list[bytes]) -> None:
    await channel.play(farewell, interrupt=False)
    await channel.hang_up()


async def _record_greeting(
    channel: Channel,
    mailboxes: Mailboxes,
    owner: Extension,
    prompts: Prompts,
    limits: VoicemailLimits,
) -> Greeting | None:
    """Record, play back, confirm; the new greeting, or None if not kept."""
    for _ in range(limits.greeting_attempts):
        await channel.play(prompts.say("record-greeting"))
        channel.flush_digits()
        await channel.play(beep(), interrupt=False)
        channel.flush_digits()
        recording = await channel.record(max_seconds=limits.max_greeting_seconds, stop_keys="#")
        if recording.end is RecordEnd.HUNG_UP:
            raise HungUp
        if duration_of(recording.pcm) < limits.min_message_seconds:
            await channel.play(prompts.say("greeting-too-short"))
            continue
        pending = await channel.play(recording.pcm)
        choice = await _choose(
            channel,
            prompts.say("keep-greeting"),
            "12",
            prompts,
            limits,
            pending=pending is not None,
        )
        if choice == "1":
            return await mailboxes.record_greeting(owner.number, recording.pcm)
        if choice is None:
            return None
    return None


class _MailboxSession:
    """The owner's walk through their mailbox once the PIN is accepted."""

    def __init__(
        self,
        channel: Channel,
        mailboxes: Mailboxes,
        owner: Extension,
        prompts: Prompts,
        limits: VoicemailLimits,
        tz: dt.tzinfo | None,
    ) -> None:
        self._channel = channel
        self._mailboxes = mailboxes
        self._owner = owner
        self._mailbox = owner.number
        self._prompts = prompts
        self._limits = limits
        self._tz = tz

    async def run(self) -> None:
        """Counts, messages, main menu; returns when the owner is done (goodbye follows)."""
        messages = await self._read_messages()
        listen = bool(messages)
        while True:
            if listen:
                outcome = await self._listen(messages)
                if outcome is None:
                    return
                if outcome == "0" and not await self._options():
                    return
            choice = await self._choose(self._prompts.say("main-menu"), "10*")
            if choice == "1":
                messages = await self._read_messages()
                listen = bool(messages)
            elif choice == "0":
                listen = False
                if not await self._options():
                    return
            else:
                return

    async def _read_messages(self) -> list[VoicemailMessage]:
        """The mailbox's messages in playing order; announces how many there are."""
        listed = await self._mailboxes.messages(self._mailbox)
        new = [message for message in listed if message.folder is MessageFolder.NEW]
        saved = [message for message in listed if message.folder is not MessageFolder.NEW]
        say = self._prompts.say
        counts = [
            *say("you-have"),
            *self._count(len(new), "new-message", "new-messages"),
            *say("and"),
            *self._count(len(saved), "saved-message", "saved-messages"),
        ]
        await self._channel.play(counts)
        return new + saved

    def _count(self, n: int, one: str, many: str) -> list[bytes]:
        amount = self._prompts.say("no") if n == 0 else self._prompts.number(n)
        return [*amount, *self._prompts.say(one if n == 1 else many)]

    async def _listen(self, messages: list[VoicemailMessage]) -> str | None:
        """Play the messages: "#" (all played), "0" (options), "*" (main menu), None (no answer)."""
        for message in messages:
            outcome = await self._message(message)
            if outcome != "#":
                return outcome
        await self._channel.play(self._prompts.say("no-more-messages"))
        return "#"

    async def _message(self, message: VoicemailMessage) -> str | None:
        """One message and its menu: "#" (go on), "0", "*" or None (see :meth:`_listen`)."""
        try:
            audio = await self._mailboxes.message_audio(self._mailbox, message.id)
        except NotFound:
            return "#"
        heard = False
        kept = message.folder is not MessageFolder.NEW
        try:
            announcement = self._announcement(message)
            pending = await self._channel.play(announcement) if announcement else None
            if pending is None:
                pending = await self._channel.play(audio)
                heard = pending is None
            while True:
                choice = await self._choose(
                    self._prompts.say("message-menu"), "179#0*", pending=pending is not None
                )
                pending = None
                if choice == "1":
                    pending = await self._channel.play(audio)
                    heard = heard or pending is None
                elif choice == "7":
                    kept = True
                    await self._forget(self._mailboxes.delete_message, message)
                    await self._channel.play(self._prompts.say("message-deleted"))
                    return "#"
                elif choice == "9":
                    if not kept:
                        kept = True
                        await self._forget(self._mailboxes.save_message, message)
                    await self._channel.play(self._prompts.say("message-saved"))
                    return "#"
                else:
                    return choice
        finally:
            if heard and not kept:
                await self._forget(self._mailboxes.save_message, message)

    async def _forget(self, action: _MessageAction, message: VoicemailMessage) -> None:
        """Apply a change to a message that may have gone meanwhile (deleted on the web)."""
        with contextlib.suppress(NotFound):
            await action(self._mailbox, message.id)

    def _announcement(self, message: VoicemailMessage) -> list[bytes]:
        settings = self._owner.voicemail
        say = self._prompts.say
        spoken: list[bytes] = []
        if settings.announce_caller_id:
            number = self._prompts.digits(message.caller)
            spoken += [*say("message-from"), *(number or say("unknown-caller"))]
        if settings.announce_datetime:
            spoken += [*say("received"), *self._prompts.date_time(message.received_at, self._tz)]
        return spoken

    async def _options(self) -> bool:
        """Mailbox options; False when the owner did not answer (the call ends)."""
        choice = await self._choose(self._prompts.say("mailbox-options"), "1*")
        if choice == "1":
            greeting = await _record_greeting(
                self._channel, self._mailboxes, self._owner, self._prompts, self._limits
            )
            if greeting is not None:
                await self._channel.play(self._prompts.say("greeting-saved"))
            return True
        return choice is not None

    async def _choose(self, prompt: list[bytes], keys: str, *, pending: bool = False) -> str | None:
        return await _choose(
            self._channel, prompt, keys, self._prompts, self._limits, pending=pending
        )


async def mailbox_login(
    channel: Channel,
    mailboxes: Mailboxes,
    caller: Extension,
    lookup: Callable[[str], Extension | None],
    prompts: Prompts,
    *,
    limits: VoicemailLimits = DEFAULT_LIMITS,
    tz: dt.tzinfo | None = None,
    guard: PinGuard | None = None,
) -> None:
    """Any mailbox from any phone: the mailbox number, then its menu (PIN asked).

    The PIN is always asked unless the caller logs in to their own mailbox
    and it does not require one (as with the voicemail code).
    """
    with contextlib.suppress(HungUp):
        for _ in range(limits.pin_attempts):
            await channel.play(prompts.say("enter-mailbox"))
            number = await _read_entry(channel, limits)
            owner = lookup(number) if number else None
            if owner is not None:
                own_phone = owner.number == caller.number
                await voicemail_menu(
                    channel,
                    mailboxes,
                    owner,
                    prompts,
                    own_phone=own_phone,
                    limits=limits,
                    tz=tz,
                    guard=guard,
                )
                return
            channel.flush_digits()
            if number:
                await channel.play(prompts.say("unknown-mailbox"))
        await _finish(channel, prompts.say("goodbye"))
