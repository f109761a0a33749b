package dev.sprout.os;

import java.util.Locale;

/**
 * The Linux system calls sprout makes, with their numbers on each architecture it makes them on:
 * x86_64's from arch/x86/entry/syscalls/syscall_64.tbl, and the generic table's
 * (include/uapi/asm-generic/unistd.h, now scripts/syscall.tbl), which the newer 64-bit
 * architectures share: aarch64 (arch/arm64/tools/syscall_64.tbl links to it), riscv64 and
 * loongarch64. Others (ppc64le, s390x) have tables of their own and no native calls here. Each constant gives the kernel's argument order
 * (its SYSCALL_DEFINE), which is what {@link LibC#call} passes, not the libc wrapper's.
 */
enum Syscall {
    /** read(fd, buf, count): fs/read_write.c. */
    READ(0, 63),
    /** write(fd, buf, count): fs/read_write.c. */
    WRITE(1, 64),
    /** close(fd): fs/open.c. */
    CLOSE(3, 57),
    /** openat(dfd, filename, flags, mode): fs/open.c. open(2) is openat with AT_FDCWD. */
    OPENAT(257, 56),
    /** lseek(fd, offset, whence): fs/read_write.c. */
    LSEEK(8, 62),
    /** fallocate(fd, mode, offset, len): fs/open.c. */
    FALLOCATE(285, 47),
    /**
     * posix_fadvise(2) as the kernel takes it, (fd, offset, len, advice): mm/fadvise.c. x86_64's
     * fadvise64; in the generic table fadvise64_64, which the 64-bit table calls fadvise64 too. Unlike the
     * libc function it fails as every system call does, -1 and errno, rather than returning the error.
     */
    FADVISE64(221, 223),
    /** sync_file_range(fd, offset, nbytes, flags): fs/sync.c. The generic table has this one, not sync_file_range2. */
    SYNC_FILE_RANGE(277, 84),
    /** fstatfs(fd, buf): fs/statfs.c. */
    FSTATFS(138, 44),
    /** ioctl(fd, cmd, arg): fs/ioctl.c. */
    IOCTL(16, 29),
    /** fcntl(fd, cmd, arg): fs/fcntl.c. */
    FCNTL(72, 25),
    /**
     * preadv2(fd, vec, vlen, pos_l, pos_h, flags): fs/read_write.c. The offset comes in two halves
     * for 32-bit callers; on 64-bit pos_l holds all of it and pos_h is 0 (pos_from_hilo).
     */
    PREADV2(327, 286),
    /** pipe2(fildes, flags): fs/pipe.c. */
    PIPE2(293, 59),
    /** splice(fd_in, off_in, fd_out, off_out, len, flags): fs/splice.c. */
    SPLICE(275, 76),
    /** recvfrom(fd, ubuf, size, flags, addr, addr_len): net/socket.c. */
    RECVFROM(45, 207),
    /**
     * ppoll(ufds, nfds, tsp, sigmask, sigsetsize): fs/select.c. The generic table has no poll(2),
     * so both use this one.
     */
    PPOLL(271, 73);

    /** The architectures whose numbers this table holds. */
    enum Architecture {
        X86_64,
        /** The generic table's numbers: aarch64, riscv64, loongarch64. */
        GENERIC;

        /** The architecture of this JVM, or null when it is not Linux on one of them. */
        static Architecture current() {
            return of(System.getProperty("os.name", ""), System.getProperty("os.arch", ""));
        }

        /** The architecture the system properties {@code os.name} and {@code os.arch} name, or null. */
        static Architecture of(String osName, String osArch) {
            if (!osName.toLowerCase(Locale.ROOT).startsWith("linux")) {
                return null;
            }
            return switch (osArch) {
                case "amd64", "x86_64" -> X86_64;
                case "aarch64", "riscv64", "loongarch64" -> GENERIC;
                default -> null;
            };
        }
    }

    private final long x86_64;
    private final long generic;

    Syscall(long x86_64, long generic) {
        this.x86_64 = x86_64;
        this.generic = generic;
    }

    /** The call's number on {@code architecture}. */
    long number(Architecture architecture) {
        return switch (architecture) {
            case X86_64 -> x86_64;
            case GENERIC -> generic;
        };
    }
}
