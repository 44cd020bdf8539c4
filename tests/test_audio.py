"""Streaming input conversion: any rate and channel count in, 16 kHz mono fixed chunks out."""

import wave

import numpy as np
import pytest

from pipecat_gemini_live.audio import (
    AudioFormatError,
    Decimator,
    InputAudioConverter,
    pcm16_rms,
    read_wav,
    wav_bytes,
)


def tone(freq: float, seconds: float, rate: int, amplitude: float = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def feed(converter: InputAudioConverter, pcm: bytes, rate: int, channels: int, frame: int) -> bytes:
    out = []
    for i in range(0, len(pcm), frame):
        out += converter.push(pcm[i : i + frame], rate, channels)
    out += converter.flush()
    assert all(len(c) == converter.chunk_bytes for c in out)
    return b"".join(out)


def test_48k_stereo_becomes_16k_mono_at_the_same_pitch_without_boundary_clicks():
    left, right = tone(440, 1.0, 48000, 6000), tone(440, 1.0, 48000, 10000)
    stereo = np.stack([left, right], axis=1).reshape(-1).tobytes()
    out = np.frombuffer(feed(InputAudioConverter(), stereo, 48000, 2, 3840), dtype=np.int16)

    assert abs(len(out) / 16000 - 1.0) <= 0.04 + 0.01  # one chunk of padding at most
    spectrum = np.abs(np.fft.rfft(out[:16000].astype(float)))
    assert abs(np.argmax(spectrum) * 16000 / 16000 - 440) <= 2
    # Streamed in 20 ms frames == resampled in one go (the filter state carries over).
    whole = Decimator(3).process(((left.astype(np.int32) + right) // 2).astype(np.int16))
    assert len(whole) == 16000
    assert np.max(np.abs(out[:16000].astype(int) - whole.astype(int))) <= 1


def level_db(pcm: np.ndarray, reference: float) -> float:
    middle = pcm[len(pcm) // 4 : -len(pcm) // 4].astype(float)
    return 20 * np.log10(max(float(np.sqrt(np.mean(middle**2))), 1e-3) / reference)


def test_the_resampler_keeps_the_speech_band_and_rejects_aliases():
    amplitude = 16000

    def through(freq: float, rate: int) -> float:
        pcm = tone(freq, 1.0, rate, amplitude).tobytes()
        out = feed(InputAudioConverter(), pcm, rate, 1, 2 * rate // 50)
        return level_db(np.frombuffer(out, dtype=np.int16), amplitude / np.sqrt(2))

    assert through(300, 48000) > -0.5 and through(5000, 48000) > -0.5
    assert through(6000, 44100) > -1.0
    # Above 8 kHz a 48 kHz tone cannot be represented at 16 kHz: it must not fold back in.
    assert through(12000, 48000) < -70 and through(9000, 48000) < -70
    assert through(3000, 8000) > -0.5  # telephony's whole band


def test_at_a_multiple_of_16k_a_chunk_leaves_with_the_frame_that_completes_it():
    """Input in 20 ms frames, 50 ms chunks: the chunk ending at 100 ms goes with the frame
    ending at 100 ms, not the next one (a resampler holding samples back makes it wait)."""
    for rate in (48000, 32000, 96000):
        converter = InputAudioConverter(chunk_ms=50)
        pcm = tone(440, 3.0, rate).tobytes()
        frame = 2 * rate // 50
        for index, start in enumerate(range(0, len(pcm), frame)):
            chunks = converter.push(pcm[start : start + frame], rate, 1)
            assert len(chunks) == ((index + 1) * 20) // 50 - (index * 20) // 50, (rate, index)


def test_the_decimator_is_the_filter_applied_at_full_rate_and_under_a_millisecond_late():
    rng = np.random.default_rng(7)
    for factor in (2, 3, 6):
        pcm = rng.normal(0, 4000, 16000 * factor).astype(np.int16)
        decimator = Decimator(factor)
        pieces, start = [], 0
        while start < len(pcm):  # any split, from single samples to a second at once
            size = int(rng.integers(1, 4000)) if len(pieces) != 3 else 16000 * factor // 2
            pieces.append(decimator.process(pcm[start : start + size]))
            start += size
        out = np.concatenate(pieces)
        # The same filter the slow way: convolve at the input rate, keep every factor-th
        # sample, the one ending each group of factor inputs.
        taps = Decimator.TAPS_PER_PHASE * factor
        centred = np.arange(taps) - (taps - 1) / 2
        kernel = np.sinc(2 * 7000 / (16000 * factor) * centred) * np.kaiser(taps, 8.6)
        reference = np.convolve(pcm.astype(float), kernel / kernel.sum())[factor - 1 :: factor]
        assert len(out) == len(pcm) // factor
        assert np.max(np.abs(out - np.rint(reference[: len(out)]))) <= 1
        # An impulse comes out at its own time plus the stated delay, which is under 1 ms.
        impulse = np.zeros(960 * factor, np.int16)
        impulse[480 * factor] = 30000
        response = Decimator(factor).process(impulse)
        late = (np.argmax(response) - 480) / 16000
        assert abs(late - Decimator(factor).delay_seconds) <= 1 / 16000 < 0.001 - late


def test_full_scale_input_is_clipped_not_wrapped():
    square = np.repeat(np.array([32767, -32768] * 20, np.int16), 120)  # overshoots the filter
    for pieces in (1, 3, 500):  # small pieces: the loud samples are in the filter's history
        decimator, out = Decimator(3), []
        for piece in np.array_split(np.concatenate((square, np.zeros(600, np.int16))), pieces):
            out.append(decimator.process(piece))
        out = np.concatenate(out).astype(int)
        assert out.max() == 32767 and out.min() == -32768, pieces
        assert np.all(np.abs(np.diff(out)) < 40000), pieces  # no int16 wrap-around


def test_chunks_are_not_held_back_by_the_resampler():
    """At rates soxr converts: a 50 ms chunk boundary falls inside a 20 ms input frame (up to
    20 ms of waiting), plus the filter's delay. Block-wise resampling (soxr MQ/HQ) holds output
    back by a further ~16 ms on average."""
    for rate in (44100, 24000):
        converter = InputAudioConverter(chunk_ms=50)
        pcm = tone(440, 3.0, rate).tobytes()
        frame = 2 * rate // 50
        lags_ms, sent = [], 0
        for index, start in enumerate(range(0, len(pcm) - frame + 1, frame)):
            for _ in converter.push(pcm[start : start + frame], rate, 1):
                sent += 1
                lags_ms.append((index + 1) * 20 - sent * 50)  # arrival of input -> chunk out
        steady = lags_ms[2:]
        assert np.mean(steady) <= 25 and max(steady) <= 40, (rate, np.mean(steady), max(steady))


def test_16k_mono_passes_through_byte_exact_and_8k_telephony_is_upsampled():
    pcm = tone(300, 0.5, 16000).tobytes()
    out = feed(InputAudioConverter(), pcm, 16000, 1, 640)
    assert out[: len(pcm)] == pcm and set(out[len(pcm) :]) <= {0}

    phone = tone(300, 0.5, 8000).tobytes()
    out = np.frombuffer(feed(InputAudioConverter(), phone, 8000, 1, 320), dtype=np.int16)
    assert abs(len(out) / 16000 - 0.5) <= 0.045


def test_odd_length_frames_lose_nothing_and_are_reported_once():
    pcm = tone(500, 0.5, 16000).tobytes()
    converter = InputAudioConverter()
    out, offset = [], 0
    for size in (641, 639, 333, 1001, 7) * 40:
        out += converter.push(pcm[offset : offset + size], 16000, 1)
        offset += size
    out += converter.flush()
    assert b"".join(out)[: len(pcm)] == pcm
    issues = converter.take_issues()
    assert [i.kind for i in issues] == ["partial_frame"]
    assert converter.take_issues() == []


def test_a_format_change_mid_stream_is_converted_and_reported():
    converter = InputAudioConverter()
    chunks = converter.push(tone(300, 0.2, 48000).tobytes(), 48000, 1)
    chunks += converter.push(tone(300, 0.2, 16000).tobytes(), 16000, 1)
    out = b"".join(chunks + converter.flush())
    assert abs(len(out) / 32000 - 0.4) <= 0.05
    assert converter.take_issues()[0].kind == "format_changed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((b"\x00\x00", 0, 1), "sample_rate must be a positive"),
        ((b"\x00\x00", 16000, 0), "num_channels must be 1 or more"),
        (("text", 16000, 1), "audio must be PCM16 bytes"),
    ],
)
def test_invalid_input_raises_a_clear_error(args, message):
    with pytest.raises(AudioFormatError, match=message):
        InputAudioConverter().push(*args)


def test_mid_stream_a_frame_is_checked_as_carefully_as_the_first():
    """Steady frames take a short path; anything unlike them still gets the full checks."""
    converter = InputAudioConverter(chunk_ms=20)
    for _ in range(3):
        converter.push(bytes(640), 16000, 1)
    with pytest.raises(AudioFormatError, match="sample_rate must be a positive"):
        converter.push(bytes(640), 16000.0, 1)  # equal to the stream's rate, but not a count
    with pytest.raises(AudioFormatError, match="audio must be PCM16 bytes"):
        converter.push("x" * 640, 16000, 1)
    assert converter.push(b"\x01" * 641, 16000, 1) == [b"\x01" * 640]  # odd: a byte is kept
    assert converter.take_issues()[0].kind == "partial_frame"
    # ... and goes first in the next frame, whole as that frame is.
    assert converter.push(b"\x02" * 640, 16000, 1) == [b"\x01" + b"\x02" * 639]
    assert converter.push(b"\x03" * 639, 16000, 1) == [b"\x02" + b"\x03" * 639]
    assert converter.pending_bytes == 0


def test_chunk_duration_is_validated():
    with pytest.raises(AudioFormatError, match="from 10 to 1000"):
        InputAudioConverter(chunk_ms=5)
    assert InputAudioConverter(chunk_ms=20).chunk_bytes == 640


def test_rms_and_wav_round_trip(tmp_path):
    assert pcm16_rms(bytes(640)) == 0.0
    square = np.array([32767, -32767] * 100, dtype=np.int16).tobytes()
    assert pcm16_rms(square) > 32000
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(square, 24000))
    assert read_wav(path) == (square, 24000, 1)
    (tmp_path / "bad.wav").write_bytes(b"not a wav")
    with pytest.raises(AudioFormatError, match="not a PCM WAV"):
        read_wav(tmp_path / "bad.wav")


def test_a_chunk_is_chunk_ms_of_16k_mono_and_40_ms_by_default():
    converter = InputAudioConverter()
    assert (converter.chunk_ms, converter.target_rate, converter.chunk_bytes) == (40, 16000, 1280)
    assert InputAudioConverter(chunk_ms=10).chunk_bytes == 320
    assert InputAudioConverter(chunk_ms=1000).chunk_bytes == 32000


@pytest.mark.parametrize("chunk_ms", [9, 1001, 20.0, "40"])
def test_a_chunk_duration_outside_10_to_1000_whole_ms_is_refused(chunk_ms):
    with pytest.raises(AudioFormatError) as error:
        InputAudioConverter(chunk_ms=chunk_ms)
    assert str(error.value) == (
        f"chunk_ms must be a whole number from 10 to 1000, got {chunk_ms!r}."
    )


def test_a_chunk_that_is_not_a_whole_number_of_samples_is_refused():
    with pytest.raises(AudioFormatError) as error:
        InputAudioConverter(target_rate=22050, chunk_ms=10)
    assert str(error.value) == ("chunk_ms=10 does not give a whole number of samples at 22050 Hz.")


def test_audio_that_is_not_bytes_is_refused_naming_what_was_sent():
    with pytest.raises(AudioFormatError) as error:
        InputAudioConverter().push([0, 0], 16000, 1)
    assert str(error.value) == "audio must be PCM16 bytes, got list."


def test_16k_stereo_is_downmixed_to_the_mean_of_its_channels_with_no_delay():
    left = tone(300, 0.2, 16000, 6000)
    right = tone(500, 0.2, 16000, 3000)
    stereo = np.stack([left, right], axis=1).reshape(-1).tobytes()
    converter = InputAudioConverter()
    frame = 4 * 640  # 40 ms of 16 kHz stereo: exactly one chunk
    chunks = []
    for start in range(0, len(stereo), frame):
        made = converter.push(stereo[start : start + frame], 16000, 2)
        assert len(made) == 1  # each frame completes its chunk at once
        chunks += made
    mono = ((left.astype(np.int32) + right) // 2).astype(np.int16).tobytes()
    assert b"".join(chunks) == mono
    assert converter.flush() == [] and converter.pending_bytes == 0


def test_odd_length_stereo_frames_at_48k_lose_nothing():
    stereo = np.stack([tone(440, 0.5, 48000)] * 2, axis=1).reshape(-1).tobytes()
    whole = feed(InputAudioConverter(), stereo, 48000, 2, 3840)
    converter = InputAudioConverter()
    out, offset = [], 0
    for size in (3841, 3839, 1001, 999) * 10:
        out += converter.push(stereo[offset : offset + size], 48000, 2)
        offset += size
    out += converter.flush()
    streamed = np.frombuffer(b"".join(out), np.int16).astype(int)
    assert len(streamed) == len(whole) // 2
    # The same samples, up to the resampler's rounding where the frames were cut differently.
    assert np.max(np.abs(streamed - np.frombuffer(whole, np.int16))) <= 2
    (issue,) = converter.take_issues()
    assert issue.message == (
        "a frame of 3841 bytes is not a whole number of 2-channel PCM16 samples; "
        "the remainder is kept and joined to the next frame"
    )


def test_a_format_change_names_both_formats_and_drops_the_old_half_sample():
    converter = InputAudioConverter()
    converter.push(b"\x01\x00\x02", 16000, 1)  # one sample and half of the next
    converter.push(np.array([100, 300], np.int16).tobytes(), 16000, 2)
    out = np.frombuffer(b"".join(converter.flush()), np.int16)
    assert list(out[:2]) == [1, 200] and not out[2:].any()
    format_change = [i for i in converter.take_issues() if i.kind == "format_changed"]
    assert format_change[0].message == (
        "input changed from 16000 Hz x1 to 16000 Hz x2 mid-stream; converting the new format"
    )


def test_after_a_flush_the_next_stream_starts_clean():
    converter = InputAudioConverter()
    converter.push(b"\x05\x00\x07", 16000, 1)
    converter.flush()
    converter.take_issues()
    converter.push(np.array([9, 9], np.int16).tobytes(), 48000, 2)  # a new stream, new format
    assert converter.take_issues() == []  # not a change mid-stream
    converter = InputAudioConverter()
    converter.push(b"\x05\x00\x07", 16000, 1)
    converter.flush()
    out = np.frombuffer(b"".join(converter.push(bytes(1280), 16000, 1)), np.int16)
    assert not out.any()  # nothing of the old stream's half sample leaks into the new one


def test_a_flush_keeps_the_end_of_the_audio_still_inside_the_resampler():
    out = np.frombuffer(
        feed(InputAudioConverter(), tone(440, 1.0, 48000).tobytes(), 48000, 1, 3840), np.int16
    )
    # The filter's last 0.7 ms, drained after the second of input, then silence to the chunk.
    tail = round(Decimator(3).delay_seconds * 16000)
    assert len(out) == 16640 and tail >= 10
    assert np.count_nonzero(out[16000 - 100 : 16000 + tail - 1]) > 100 + tail - 10
    assert not out[16000 + tail + 1 :].any()


def test_the_level_of_an_odd_length_chunk_ignores_the_half_sample():
    assert pcm16_rms(np.array([1000, -1000], np.int16).tobytes() + b"\x7f") == 1000.0


def test_a_wav_that_is_not_16_bit_is_refused_with_how_to_convert_it(tmp_path):
    path = tmp_path / "eight-bit.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(bytes(80))
    with pytest.raises(AudioFormatError) as error:
        read_wav(path)
    assert str(error.value) == (
        f"{path} has 8-bit samples; convert it to 16-bit PCM (e.g. sox in.wav -b 16 out.wav)."
    )
