"""nosplice.py COMMAND [ARG]... - runs COMMAND where splice(2) fails with
EINVAL, as on a kernel or file system without it: a seccomp filter
(inherited across exec) that answers that one system call with an error.
x86-64 Linux only (the system call's number); test_splice.py uses it as
the proxy's wrapper to take the copying fallback."""

import ctypes
import os
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
AUDIT_ARCH_X86_64 = 0xC000003E
NR_SPLICE = 275  # x86-64
EINVAL = 22
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte),
                ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort),
                ("filter", ctypes.POINTER(SockFilter))]


def main():
    prog = [
        (BPF_LD_W_ABS, 0, 0, 4),                   # seccomp_data.arch
        (BPF_JEQ_K, 0, 3, AUDIT_ARCH_X86_64),      # other: allow
        (BPF_LD_W_ABS, 0, 0, 0),                   # seccomp_data.nr
        (BPF_JEQ_K, 0, 1, NR_SPLICE),
        (BPF_RET_K, 0, 0, RET_ERRNO | EINVAL),
        (BPF_RET_K, 0, 0, RET_ALLOW),
    ]
    filters = (SockFilter * len(prog))(*[SockFilter(*f) for f in prog])
    fprog = SockFprog(len(prog), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if (libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            or libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
                          ctypes.byref(fprog)) != 0):
        sys.exit("nosplice.py: seccomp: %s"
                 % os.strerror(ctypes.get_errno()))
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
