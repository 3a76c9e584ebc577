"""The --mic-* options and --mic-list."""

from __future__ import annotations

import argparse
import sys

import pytest

from wyoming_server.cli.mic_options import add_listen_arguments, add_mic_arguments, check_mic_args
from wyoming_server.cli.parser import parse_args
from wyoming_server.mic import devices
from wyoming_server.mic.alsa import MicDeviceError, load_alsaaudio
from wyoming_server.mic.devices import print_mic_devices


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


def test_mic_list_prints_the_capture_devices(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["null", "hw:CARD=Device,DEV=0", "default", "plughw:CARD=Device,DEV=0"]
    monkeypatch.setattr(devices, "capture_devices", lambda: names)
    assert print_mic_devices() == 0
    # Converting devices first; ALSA's "null" (it discards audio) is not a microphone.
    assert capsys.readouterr().out.split() == [
        "default",
        "plughw:CARD=Device,DEV=0",
        "hw:CARD=Device,DEV=0",
    ]


def test_mic_list_without_a_sound_card_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """ALSA itself on a machine without a sound card (as here) lists only "null"."""
    if pytest.importorskip("alsaaudio").cards():
        pytest.skip("this machine has a sound card")
    status = print_mic_devices()
    captured = capsys.readouterr()
    assert status == 0 and captured.out == ""  # a list, empty
    assert captured.err.startswith("No ALSA capture devices found: connect a microphone")


def test_without_pyalsaaudio_the_hint_names_the_build_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "alsaaudio", None)  # import fails as when not installed
    with pytest.raises(MicDeviceError) as info:
        load_alsaaudio()
    message = str(info.value)
    assert (
        "sudo apt install libasound2-dev gcc python3-dev, then pip install pyalsaaudio" in message
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--mic-device", "hw:1"],
        ["--mic-device=hw:1"],
        ["--mic-rate", "48000"],
        ["--mic-channels", "2"],
        ["--mic-samples-per-chunk", "512"],
    ],
)
def test_serve_refuses_capture_options_without_mic_uri(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --mic-uri serve never opens the microphone: the option would be lost."""
    monkeypatch.delenv("QWEN_ASR_MIC_URI", raising=False)
    option = argv[0].partition("=")[0]
    with pytest.raises(ValueError, match=f"^{option} needs --mic-uri"):
        check_mic_args(parse_args(["serve", *argv]))
    check_mic_args(parse_args(["serve", *argv, "--mic-uri", "tcp://127.0.0.1:10301"]))
    check_mic_args(parse_args(["listen", *argv]))  # listen captures without a mic service


def test_serve_accepts_the_capture_variables_without_mic_uri(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One environment file may configure both the mic command and serve."""
    monkeypatch.delenv("QWEN_ASR_MIC_URI", raising=False)
    monkeypatch.setenv("QWEN_ASR_MIC_DEVICE", "hw:1")
    check_mic_args(parse_args(["serve"]))
