"""The --mic-* options and --mic-list."""

from __future__ import annotations

import argparse

import pytest

from wyoming_server.mic import add_listen_arguments, add_mic_arguments, print_mic_devices


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_mic_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    args = parse()
    assert (args.mic_device, args.mic_rate, args.mic_channels) == ("default", 16000, 1)
    assert (args.mic_samples_per_chunk, args.mic_uri, args.mic_list) == (1024, None, False)
    monkeypatch.setenv("QWEN_ASR_MIC_DEVICE", "plughw:CARD=seeed2micvoicec,DEV=0")
    monkeypatch.setenv("QWEN_ASR_MIC_RATE", "48000")
    monkeypatch.setenv("QWEN_ASR_MIC_URI", "tcp://0.0.0.0:10301")
    args = parse("--mic-channels", "2")
    assert args.mic_device == "plughw:CARD=seeed2micvoicec,DEV=0"
    assert (args.mic_rate, args.mic_channels, args.mic_uri) == (48000, 2, "tcp://0.0.0.0:10301")


@pytest.mark.parametrize(
    "argv",
    [["--mic-uri", "stdio://"], ["--mic-uri", "http://x:1"], ["--mic-rate", "12"]],
)
def test_bad_values_are_rejected(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parse(*argv)
    assert info.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_listen_has_no_mic_uri_but_json() -> None:
    parser = argparse.ArgumentParser()
    add_listen_arguments(parser)
    args = parser.parse_args(["--json"])
    assert args.json and not hasattr(args, "mic_uri")


def test_mic_list_prints_the_capture_devices(capsys: pytest.CaptureFixture[str]) -> None:
    status = print_mic_devices()
    out = capsys.readouterr().out.split()
    assert status == 0
    assert "null" in out  # the only PCM ALSA knows on a machine without a sound card
