#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# make-corpus.py DIR: writes the small ELF files of tests/scan-corpus (one
# clean static executable with one rseq descriptor, and damaged variants of
# it) and expected.tsv: name, verdict token, descriptors, exit status of
# `vrseq-scan FILE`. The files are committed; rerun only to change them.
import os, struct, sys

def elf(cls=64, big=False, machine=62, sig=0x53053053, mutate=None):
    e = '>' if big else '<'
    W = 'Q' if cls == 64 else 'I'
    text_addr, cs_addr, arr_addr = 0x401000, 0x402000, 0x402040
    text = struct.pack(e + 'IIII', 0, sig, 0xc3c3c3c3, 0)  # sig at +4, abort at +8
    desc = dict(version=0, flags=0, start=text_addr, off=4, abort=text_addr + 8)
    arr_ptrs = [cs_addr]
    syms = [('__rseq_offset', 0, 1, 0x11, 0)]   # name, value, shndx-ref, info
    if mutate:
        mutate.setdefault('pre', lambda d, a: None)(desc, arr_ptrs)
    cs = struct.pack(e + 'IIQQQ', desc['version'], desc['flags'], desc['start'],
                     desc['off'], desc['abort'])
    arr = b''.join(struct.pack(e + 'Q', p) for p in arr_ptrs)
    strtab = b'\0__rseq_offset\0'
    if cls == 64:
        sym = struct.pack(e + 'IBBHQQ', 0, 0, 0, 0, 0, 0) + \
              struct.pack(e + 'IBBHQQ', 1, 0x11, 0, 0, 0, 0)   # undefined
    else:
        sym = struct.pack(e + 'IIIBBH', 0, 0, 0, 0, 0, 0) + \
              struct.pack(e + 'IIIBBH', 1, 0, 0, 0x11, 0, 0)
    names = [b'', b'.text', b'__rseq_cs', b'__rseq_cs_ptr_array', b'.symtab',
             b'.strtab', b'.shstrtab']
    shstr = b'\0'
    off_name = []
    for n in names:
        off_name.append(len(shstr) - 1 if not n else len(shstr))
        if n:
            shstr += n + b'\0'
    off_name[0] = 0
    ehsize = 64 if cls == 64 else 52
    shentsize = 64 if cls == 64 else 40
    body = b''
    pos = ehsize
    blobs = [text, cs, arr, sym, strtab, shstr]
    offs = []
    for b in blobs:
        while (pos + len(body)) % 8:
            body += b'\0'
        offs.append(pos + len(body))
        body += b
    while (pos + len(body)) % 8:
        body += b'\0'
    shoff = pos + len(body)
    # name, type, flags, addr, offset, size, link, info, align, entsize
    sh = [[0] * 10,
          [off_name[1], 1, 6, text_addr, offs[0], len(text), 0, 0, 16, 0],
          [off_name[2], 1, 3, cs_addr, offs[1], len(cs), 0, 0, 32, 0],
          [off_name[3], 1, 3, arr_addr, offs[2], len(arr), 0, 0, 8, 0],
          [off_name[4], 2, 0, 0, offs[3], len(sym), 5, 1, 8, 24 if cls == 64 else 16],
          [off_name[5], 3, 0, 0, offs[4], len(strtab), 0, 0, 1, 0],
          [off_name[6], 3, 0, 0, offs[5], len(shstr), 0, 0, 1, 0]]
    hdr = dict(type=2, shoff=shoff, shnum=len(sh), shstrndx=6, shentsize=shentsize)
    if mutate and 'sh' in mutate:
        mutate['sh'](sh, hdr)
    shdrs = b''
    for s in sh:
        if cls == 64:
            shdrs += struct.pack(e + 'IIQQQQIIQQ', *s)
        else:
            shdrs += struct.pack(e + 'IIIIIIIIII', *s)
    ident = b'\x7fELF' + bytes([2 if cls == 64 else 1, 2 if big else 1, 1, 0]) + b'\0' * 8
    ehdr = ident + struct.pack(e + 'HHI' + W + W + W + 'IHHHHHH', hdr['type'],
                               machine, 1, 0, 0, hdr['shoff'], 0, ehsize, 0, 0,
                               hdr['shentsize'], hdr['shnum'], hdr['shstrndx'])
    out = ehdr + body + shdrs
    if mutate and 'post' in mutate:
        out = mutate['post'](out)
    return out

def setd(**kw):
    return lambda d, a: d.update(kw)

cases = [
    # name, bytes, verdict, descriptors, exit
    ('ok.elf', elf(), 'shares_glibc', 1, 0),
    ('ok-be32-ppc.elf', elf(cls=32, big=True, machine=20, sig=0x0fe5000b), 'shares_glibc', 1, 0),
    ('ok-aarch64.elf', elf(machine=183, sig=0xd428bc00), 'shares_glibc', 1, 0),
    ('truncated-header.elf', elf()[:20], 'damaged', 0, 3),
    ('truncated-sections.elf', elf()[:-30], 'damaged', 0, 3),
    ('bogus-shoff.elf', elf(mutate={'sh': lambda s, h: h.update(shoff=0x7ffffff0)}), 'damaged', 0, 3),
    ('huge-shnum.elf', elf(mutate={'sh': lambda s, h: h.update(shnum=0xfff0)}), 'damaged', 0, 3),
    ('size-past-eof.elf', elf(mutate={'sh': lambda s, h: s[2].__setitem__(5, 0x100000)}), 'damaged', 0, 3),
    ('offset-past-eof.elf', elf(mutate={'sh': lambda s, h: s[1].__setitem__(4, 0x7fff0000)}), 'damaged', 0, 3),
    ('shstrndx-out-of-range.elf', elf(mutate={'sh': lambda s, h: h.update(shstrndx=50)}), 'damaged', 0, 3),
    # names unreadable: no __rseq_cs or __rseq_offset found, no crash
    ('link-out-of-range.elf', elf(mutate={'sh': lambda s, h: s[4].__setitem__(6, 99)}), 'critical_sections_only', 1, 0),
    ('symname-out-of-range.elf', elf(mutate={'post': lambda b: b[:0]} if False else
        {'sh': lambda s, h: s[5].__setitem__(5, 2)}), 'critical_sections_only', 1, 0),
    ('symtab-entsize-0.elf', elf(mutate={'sh': lambda s, h: s[4].__setitem__(9, 0)}), 'shares_glibc', 1, 0),
    ('desc-out-of-bounds.elf', elf(mutate={'pre': setd(start=0x500000)}), 'bad_descriptors', 1, 2),
    ('desc-end-past-text.elf', elf(mutate={'pre': setd(off=0x1000)}), 'bad_descriptors', 1, 2),
    ('desc-abort-inside.elf', elf(mutate={'pre': setd(off=12)}), 'bad_descriptors', 1, 2),
    ('wrong-signature.elf', elf(sig=0x12345678), 'bad_descriptors', 1, 2),
    ('desc-version.elf', elf(mutate={'pre': setd(version=1)}), 'bad_descriptors', 1, 2),
    ('abort-at-zero.elf', elf(mutate={'pre': setd(abort=0)}), 'bad_descriptors', 1, 2),
    ('ptr-not-descriptor.elf', elf(mutate={'pre': lambda d, a: a.__setitem__(0, 0x402008)}), 'bad_descriptors', 1, 2),
    ('cs-size-not-32.elf', elf(mutate={'sh': lambda s, h: s[2].__setitem__(5, 24)}), 'bad_descriptors', 0, 2),
    ('unknown-machine.elf', elf(machine=0x1234), 'shares_glibc', 1, 0),
    ('not-elf.txt', b'just text, not an ELF file\n', None, 0, 0),
]

# Descriptors validated, invalid, not validated: every descriptor of a
# clean object validated, of a bad one invalid, except these.
split = {
    'ptr-not-descriptor.elf': (1, 0, 0),   # the descriptor is right, its pointer not
    'unknown-machine.elf': (0, 0, 1),      # no RSEQ_SIG known for machine 0x1234
}

def main():
    out = sys.argv[1]
    with open(os.path.join(out, 'expected.tsv'), 'w') as t:
        t.write('# SPDX-License-Identifier: MIT\n')
        t.write('# file\tverdict\tdescriptors\tvalidated\tinvalid\tunvalidated\texit'
                ' (written by make-corpus.py)\n')
        for name, data, verdict, n, rc in cases:
            open(os.path.join(out, name), 'wb').write(data)
            v = split.get(name, (0, n, 0) if verdict == 'bad_descriptors' else
                          (0, 0, 0) if verdict in ('damaged', None) else (n, 0, 0))
            t.write('%s\t%s\t%d\t%d\t%d\t%d\t%d\n' % ((name, verdict or '-', n) + v + (rc,)))

main()
