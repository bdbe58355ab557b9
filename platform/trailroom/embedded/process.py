"""A child process we own: started with a pid file, tied to our lifetime, stopped in order."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from trailroom.core.logging import get_logger

log = get_logger("trailroom.embedded")

_PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    """A service could not start; the message says what is wrong and how to fix it."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _die_with_parent() -> None:
    # Linux only: the kernel sends SIGTERM to the child when the parent dies, even by SIGKILL,
    # so a crashed supervisor leaves no orphan servers behind.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def terminate_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not gone within `timeout` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid) or _is_zombie(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


@dataclass
class ManagedProcess:
    """One child process with a pid file under the data folder.

    `marker` is a string that must appear in the command line of a pid found in a stale pid file
    before we stop it: we only ever stop what an earlier run of ours started.
    """

    name: str
    argv: Sequence[str]
    pid_file: Path
    marker: str
    log_file: Path | None = None
    env: Mapping[str, str] | None = None
    new_session: bool = True
    # Children whose output the user should see (API, worker) write to our terminal.
    inherit_output: bool = False
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log_handle: IO[bytes] | None = field(default=None, init=False)

    def clear_leftover(self) -> None:
        """Stop a process left by a crashed earlier run, so it cannot block this start."""
        if not self.pid_file.exists():
            return
        try:
            pid = int(self.pid_file.read_text().strip())
        except ValueError:
            pid = 0
        if pid and pid_alive(pid) and self.marker in _cmdline(pid):
            log.warning("stopping leftover process from an earlier run", service=self.name, pid=pid)
            terminate_pid(pid)
        self.pid_file.unlink(missing_ok=True)

    def start(self) -> None:
        self.clear_leftover()
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        stdout: int | IO[bytes] | None = None if self.inherit_output else subprocess.DEVNULL
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log_handle = self.log_file.open("ab")
            stdout = self._log_handle
        try:
            self.popen = subprocess.Popen(
                list(self.argv),
                stdout=stdout,
                stderr=None if self.inherit_output else subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(self.env) if self.env is not None else None,
                preexec_fn=_die_with_parent,  # started from the main thread only
                start_new_session=self.new_session,
            )
        except OSError as exc:
            raise EmbeddedError(f"cannot start {self.name} ({self.argv[0]}): {exc}") from exc
        self.pid_file.write_text(str(self.popen.pid))

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise EmbeddedError(
                    f"{self.name} exited with code {self.popen.returncode} while starting"
                    + (f"; its log is {self.log_file}" if self.log_file else "")
                )
            if ready():
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedError(f"{self.name} did not become ready within {timeout:.0f} s")

    @property
    def running(self) -> bool:
        # poll() also reaps an exited child, so a crashed one never lingers as a zombie.
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    @property
    def exit_code(self) -> int | None:
        """How it ended (negative: the signal that killed it), or None while it runs."""
        return self.popen.poll() if self.popen is not None else None

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is not None:
            if self.popen.poll() is None:
                self.popen.terminate()
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.popen.kill()
                    self.popen.wait()
            self.popen = None
        self.pid_file.unlink(missing_ok=True)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
