# SPDX-License-Identifier: MIT
"""vrseq from Python through ctypes and libvrseq-ffi.so.1.

The slot fast paths are static inline in <vrseq.h>; libvrseq-ffi exports
them as real functions, and libvrseq.so.1 (which it links) the rest.

    python3 vrseq_ctypes.py [path/to/libvrseq-ffi.so.1]

A value stored in the thread's slot reads back until the thread changes CPU
or a fence covering its CPU runs. Without usable rseq (valgrind, seccomp)
the slot is in fallback mode: the store is refused with VRSEQ_UNCACHED and
nothing ever reads valid, which is still correct, only uncached. Exits 0
when what happened is what the contract says.
"""
import ctypes
import os
import sys

VRSEQ_COMMITTED = 0
VRSEQ_INVALIDATED = 1
VRSEQ_UNCACHED = 4


class VrseqSlot(ctypes.Structure):
    """struct vrseq_slot: opaque, 64 bytes, aligned to 64; only its address
    is ever used here (vrseq_thread_slot() owns the storage)."""
    _fields_ = [("opaque", ctypes.c_uint64 * 8)]


def load_library(path):
    # RTLD_GLOBAL is not needed: dlsym() on this handle also searches
    # libvrseq.so.1, the library's dependency.
    lib = ctypes.CDLL(path)
    slot_p = ctypes.POINTER(VrseqSlot)
    protos = {
        "vrseq_init": (ctypes.c_int, []),
        "vrseq_thread_slot": (slot_p, []),
        "vrseq_current_cpu": (ctypes.c_int, []),
        "vrseq_slot_usable": (ctypes.c_bool, [slot_p]),
        "vrseq_slot_store": (ctypes.c_int, [slot_p, ctypes.c_uint64]),
        "vrseq_slot_load": (ctypes.c_bool,
                            [slot_p, ctypes.POINTER(ctypes.c_uint64)]),
        "vrseq_slot_cpu_view": (ctypes.c_uint32, [slot_p]),
        "vrseq_fence_cpu": (ctypes.c_int, [ctypes.c_int]),
    }
    for name, (restype, argtypes) in protos.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def main(argv):
    path = argv[1] if len(argv) > 1 else "libvrseq-ffi.so.1"
    lib = load_library(path)
    ok = True

    if os.sched_getaffinity(0):
        # One CPU for the whole run: a migration would invalidate the slot.
        os.sched_setaffinity(0, {os.sched_getaffinity(0).pop()})
    rc = lib.vrseq_init()
    print(f"vrseq_init: {rc}")
    slot = lib.vrseq_thread_slot()
    cpu = lib.vrseq_current_cpu()
    usable = lib.vrseq_slot_usable(slot)
    print(f"thread slot bound on cpu {cpu}: "
          f"{'usable' if usable else 'fallback mode'}")

    value = ctypes.c_uint64(0)
    stored = 0x5eed
    for _ in range(100):
        rc = lib.vrseq_slot_store(slot, stored)
        if rc != VRSEQ_INVALIDATED:
            break
    valid = lib.vrseq_slot_load(slot, ctypes.byref(value))
    print(f"store {stored:#x}: {rc}; load: valid={valid} "
          f"value={value.value:#x}")
    if usable:
        ok &= rc == VRSEQ_COMMITTED and valid and value.value == stored
        ok &= lib.vrseq_slot_cpu_view(slot) == stored
    else:
        ok &= rc == VRSEQ_UNCACHED and not valid

    rc = lib.vrseq_fence_cpu(cpu)
    valid = lib.vrseq_slot_load(slot, ctypes.byref(value))
    view = lib.vrseq_slot_cpu_view(slot)
    print(f"fence cpu {cpu}: {rc}; load: valid={valid}; cpu view: {view}")
    ok &= rc == 0 and not valid and view == cpu

    print("result: " + ("as the contract says" if ok else "UNEXPECTED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
