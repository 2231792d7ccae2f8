"""`logclassify doctor`: look for known environment traps before (or after) a vLLM server fails. No torch needed.

Every check reads only the environment, /proc, /sys and package metadata, so doctor is fast and safe anywhere.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import platform
import socket
from collections.abc import Callable, Mapping
from enum import Enum
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, Field


class CheckStatus(str, Enum):
    passed = "passed"
    info = "info"
    warning = "warning"
    failed = "failed"
    skipped = "skipped"


class Check(BaseModel):
    """One finding about this environment, with the fix when there is something to fix."""

    name: str
    status: CheckStatus
    message: str
    fix: str | None = None


class DoctorReport(BaseModel):
    """All checks, and the versions of the stack that could be read without importing it."""

    checks: list[Check] = Field(default_factory=list)
    versions: dict[str, str | None] = Field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(c.status is CheckStatus.failed for c in self.checks)


Env = Mapping[str, str]
_TRUTHY_OFF = ("", "0", "false", "no", "off")
_CAP_IPC_LOCK = 14
_IMEX_CHANNELS = Path("/dev/nvidia-caps-imex-channels")
_GIB = 2**30


# -- debug switches left on ------------------------------------------------------------------------------------------

def check_debug_vars(env: Env) -> list[Check]:
    """The switches of rules/_vocab/debug.yaml, which the `debug-env-left-on` rule reports in a log too."""
    import regex

    from logclassify.vocab import vocab

    checks = []
    for switch in vocab()["debug"]["switches"]:
        name = switch["name"]
        value = env.get(name)
        if value is not None and regex.fullmatch(switch["active"], value.strip(), regex.IGNORECASE):
            checks.append(Check(name=f"env.{name}", status=CheckStatus.warning, message=f"{name}={value} {switch['harm']}",
                                fix=switch["fix"]))
        else:
            shown = "not set" if value is None else f"{name}={value}"
            checks.append(Check(name=f"env.{name}", status=CheckStatus.passed, message=shown))
    return checks


# -- NCCL settings ---------------------------------------------------------------------------------------------------


def check_nccl_cumem(env: Env) -> list[Check]:
    """vLLM sets NCCL_CUMEM_ENABLE=0 itself unless multi-node NVLink (IMEX channels) needs it on."""
    name, value = "env.NCCL_CUMEM_ENABLE", env.get("NCCL_CUMEM_ENABLE")
    imex = _IMEX_CHANNELS.exists()
    if value is None:
        return [Check(name=name, status=CheckStatus.passed, message="not set (vLLM chooses)")]
    if value.strip() != "0" and not imex:
        return [
            Check(
                name=name,
                status=CheckStatus.warning,
                message=f"NCCL_CUMEM_ENABLE={value} overrides vLLM's default of 0: CUDA graphs with all-reduce then "
                "cost 1-2 GiB more GPU memory per GPU (NVIDIA/nccl#1234)",
                fix="unset NCCL_CUMEM_ENABLE unless you need it (multi-node NVLink, e.g. GB200 NVL72)",
            )
        ]
    if value.strip() == "0" and imex:
        return [
            Check(
                name=name,
                status=CheckStatus.warning,
                message="NCCL_CUMEM_ENABLE=0 but this machine has IMEX channels (multi-node NVLink), "
                "which NCCL can only use with cuMem",
                fix="unset NCCL_CUMEM_ENABLE",
            )
        ]
    return [Check(name=name, status=CheckStatus.passed, message=f"NCCL_CUMEM_ENABLE={value}")]


def check_nccl_p2p(env: Env) -> list[Check]:
    name, value = "env.NCCL_P2P_DISABLE", env.get("NCCL_P2P_DISABLE")
    if value is None or value.strip().lower() in _TRUTHY_OFF:
        return [Check(name=name, status=CheckStatus.passed, message="not set" if value is None else f"={value}")]
    return [
        Check(
            name=name,
            status=CheckStatus.warning,
            message=f"NCCL_P2P_DISABLE={value} sends all GPU-to-GPU traffic through host memory: tensor-parallel "
            "all-reduce is much slower. It is a workaround for broken peer-to-peer, not a default",
            fix="unset NCCL_P2P_DISABLE if `logclassify probe p2p` and `logclassify probe nccl` pass without it",
        )
    ]


# -- network ---------------------------------------------------------------------------------------------------------


def local_interfaces() -> list[str]:
    try:
        return sorted(name for _, name in socket.if_nameindex())
    except OSError:
        return []


def _address_is_local(address: str) -> bool:
    """Binding succeeds only to an address this machine owns: portable, and no interface parsing."""
    ip = ipaddress.ip_address(address)
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((address, 0))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                return False
            raise
    return True


def check_host_ip(env: Env) -> list[Check]:
    name, value = "env.VLLM_HOST_IP", env.get("VLLM_HOST_IP")
    if not value:
        return [Check(name=name, status=CheckStatus.passed, message="not set (vLLM picks an address)")]
    try:
        local = _address_is_local(value.strip())
    except ValueError:
        return [
            Check(
                name=name,
                status=CheckStatus.failed,
                message=f"VLLM_HOST_IP={value} is not an IP address",
                fix="set VLLM_HOST_IP to this node's IP address (not a hostname) on the network the other nodes reach",
            )
        ]
    except OSError as exc:
        return [Check(name=name, status=CheckStatus.skipped, message=f"could not test {value}: {exc}")]
    if local:
        return [Check(name=name, status=CheckStatus.passed, message=f"{value} is an address of this machine")]
    return [
        Check(
            name=name,
            status=CheckStatus.failed,
            message=f"VLLM_HOST_IP={value} is not an address of this machine: workers will advertise an address "
            "nobody answers on (often a copy of another node's environment)",
            fix="set VLLM_HOST_IP to this node's own address on the network the other nodes reach "
            "(see `ip -brief addr`), or unset it",
        )
    ]


def nccl_ifname_matches(spec: str, interfaces: list[str]) -> list[str]:
    """NCCL_SOCKET_IFNAME semantics: comma list of prefixes; `=` makes them exact; `^` excludes them instead."""
    spec = spec.strip()
    exclude = spec.startswith("^")
    spec = spec[1:] if exclude else spec
    exact = spec.startswith("=")
    spec = spec[1:] if exact else spec
    patterns = [p.strip() for p in spec.split(",") if p.strip()]

    def hit(iface: str) -> bool:
        return any(iface == p if exact else iface.startswith(p) for p in patterns)

    return [i for i in interfaces if hit(i) != exclude]


def check_socket_ifnames(env: Env) -> list[Check]:
    interfaces = local_interfaces()
    checks = []
    for var in ("NCCL_SOCKET_IFNAME", "GLOO_SOCKET_IFNAME"):
        value = env.get(var)
        name = f"env.{var}"
        if not value:
            checks.append(Check(name=name, status=CheckStatus.passed, message="not set (auto-detected)"))
            continue
        if not interfaces:
            checks.append(Check(name=name, status=CheckStatus.skipped, message="cannot list network interfaces here"))
            continue
        if var == "NCCL_SOCKET_IFNAME":
            matched = nccl_ifname_matches(value, interfaces)
            missing = [] if matched else [value]
        else:  # GLOO takes exact names, every one of which must exist
            wanted = [p.strip() for p in value.split(",") if p.strip()]
            matched = [w for w in wanted if w in interfaces]
            missing = [w for w in wanted if w not in interfaces]
        if missing:
            checks.append(
                Check(
                    name=name,
                    status=CheckStatus.failed,
                    message=f"{var}={value} names no interface of this machine "
                    f"(missing: {', '.join(missing)}; present: {', '.join(interfaces)})",
                    fix=f"set {var} to one of: {', '.join(i for i in interfaces if i != 'lo') or 'lo'}, or unset it",
                )
            )
        else:
            checks.append(Check(name=name, status=CheckStatus.passed, message=f"{var}={value} -> {', '.join(matched)}"))
    return checks


# -- resources and permissions ---------------------------------------------------------------------------------------


def check_shm(env: Env, path: Path = Path("/dev/shm")) -> list[Check]:
    """NCCL and vLLM's shared-memory broadcast live in /dev/shm; Docker's default of 64 MiB is the classic trap."""
    fix = "start the container with --ipc=host or --shm-size=16g (Kubernetes: mount an emptyDir with medium: Memory)"
    try:
        st = os.statvfs(path)
    except OSError:
        return [Check(name="shm", status=CheckStatus.failed, message=f"{path} is missing", fix=fix)]
    size = st.f_frsize * st.f_blocks
    free = st.f_frsize * st.f_bavail
    text = f"{path} is {size / _GIB:.2f} GiB ({free / _GIB:.2f} GiB free)"
    if size < 256 * 2**20:
        return [Check(name="shm", status=CheckStatus.failed, message=f"{text}: too small for NCCL / tensor parallel", fix=fix)]
    if size < _GIB:
        return [Check(name="shm", status=CheckStatus.warning, message=f"{text}: may be too small for several GPUs", fix=fix)]
    return [Check(name="shm", status=CheckStatus.passed, message=text)]


def effective_capabilities(status_text: str) -> int | None:
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return None


def check_ipc_lock(env: Env) -> list[Check]:
    """RDMA (InfiniBand, RoCE) must pin memory: without IPC_LOCK or an unlimited memlock NCCL falls back or fails."""
    try:
        caps = effective_capabilities(Path("/proc/self/status").read_text())
    except OSError:
        caps = None
    if caps is None:
        return [Check(name="ipc_lock", status=CheckStatus.skipped, message="no /proc/self/status CapEff here")]
    if caps >> _CAP_IPC_LOCK & 1:
        return [Check(name="ipc_lock", status=CheckStatus.passed, message="IPC_LOCK capability is present")]
    try:
        import resource

        unlimited = resource.getrlimit(resource.RLIMIT_MEMLOCK)[0] == resource.RLIM_INFINITY
    except (ImportError, OSError, ValueError):
        unlimited = False
    if unlimited:
        return [Check(name="ipc_lock", status=CheckStatus.passed, message="no IPC_LOCK, but memlock is unlimited")]
    return [
        Check(
            name="ipc_lock",
            status=CheckStatus.warning,
            message="no IPC_LOCK capability and a limited memlock: NCCL over InfiniBand/RoCE cannot pin memory "
            "(ibv_reg_mr errors, or a silent fall-back to slow sockets)",
            fix="docker run --cap-add=IPC_LOCK (or --ulimit memlock=-1); ignore on single-node or TCP-only setups",
        )
    ]


def check_start_method(env: Env) -> list[Check]:
    name, value = "env.VLLM_WORKER_MULTIPROC_METHOD", env.get("VLLM_WORKER_MULTIPROC_METHOD")
    if value is None:
        import multiprocessing

        default = multiprocessing.get_start_method(allow_none=True) or "platform default"
        return [Check(name=name, status=CheckStatus.passed, message=f"not set (vLLM default; Python here: {default})")]
    if value not in ("fork", "spawn"):
        return [
            Check(
                name=name,
                status=CheckStatus.failed,
                message=f"VLLM_WORKER_MULTIPROC_METHOD={value} is neither fork nor spawn",
                fix="export VLLM_WORKER_MULTIPROC_METHOD=spawn",
            )
        ]
    if value == "fork":
        return [
            Check(
                name=name,
                status=CheckStatus.info,
                message="fork: if CUDA is initialised before the workers start (e.g. by your own script), they fail "
                "with 'Cannot re-initialize CUDA in forked subprocess'",
                fix="export VLLM_WORKER_MULTIPROC_METHOD=spawn if you see that error",
            )
        ]
    return [Check(name=name, status=CheckStatus.passed, message="spawn")]


# -- versions --------------------------------------------------------------------------------------------------------

VERSIONED = ("torch", "vllm", "triton", "transformers")


def installed_versions() -> dict[str, str | None]:
    """From package metadata: importing torch or vllm just to read a version costs seconds and may touch the GPU."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = None
    return found


def check_vllm_torch(versions: Mapping[str, str | None]) -> list[Check]:
    """vLLM wheels are built against one torch; another torch gives undefined-symbol errors at import."""
    vllm, torch = versions.get("vllm"), versions.get("torch")
    if not vllm or not torch:
        return []
    try:
        from packaging.requirements import Requirement
        from packaging.version import Version
    except ImportError:
        return [Check(name="vllm_torch", status=CheckStatus.skipped, message="`packaging` is not installed")]
    for line in metadata.requires("vllm") or []:
        req = Requirement(line)
        if req.name != "torch" or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        if req.specifier and not req.specifier.contains(Version(torch), prereleases=True):
            return [
                Check(
                    name="vllm_torch",
                    status=CheckStatus.failed,
                    message=f"vllm {vllm} requires torch{req.specifier}, but torch {torch} is installed",
                    fix=f"pip install 'torch{req.specifier}' (or the vllm release built for torch {torch})",
                )
            ]
        return [Check(name="vllm_torch", status=CheckStatus.passed, message=f"torch {torch} satisfies vllm {vllm}")]
    return []


def check_versions(versions: Mapping[str, str | None]) -> list[Check]:
    shown = ", ".join(f"{k} {v}" for k, v in versions.items() if v)
    absent = [k for k, v in versions.items() if not v]
    message = shown + (f" (not installed: {', '.join(absent)})" if absent else "")
    return [Check(name="versions", status=CheckStatus.info, message=message), *check_vllm_torch(versions)]


CHECKS: list[Callable[[Env], list[Check]]] = [
    check_debug_vars,
    check_nccl_cumem,
    check_nccl_p2p,
    check_host_ip,
    check_socket_ifnames,
    check_shm,
    check_ipc_lock,
    check_start_method,
]


def run_doctor(env: Env | None = None) -> DoctorReport:
    """Run every check against `env` (default: this process's environment)."""
    env = os.environ if env is None else env
    checks = [check for run in CHECKS for check in run(env)]
    versions = installed_versions()
    return DoctorReport(checks=[*checks, *check_versions(versions)], versions=versions)
