package dev.sprout.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sprout.os.Syscall.Architecture;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The system call table and the one syscall(2) handle: the numbers are the kernel's (as the
 * kernel headers installed here define them), and every call made on this machine reaches the
 * call it names and reports its errno.
 */
class SyscallTest {

    /** {@code #define __NR_close 57}, or {@code __NR3264_lseek 62} for the generic table's 32/64-bit pairs. */
    private static final Pattern DEFINE = Pattern.compile("#define __NR(?:3264)?_(\\w+)\\s+(\\d+)");

    @Test
    void onlyLinuxOnX8664AndTheGenericTablesArchitecturesHasATable() {
        assertThat(Architecture.of("Linux", "amd64")).isEqualTo(Architecture.X86_64);
        assertThat(Architecture.of("Linux", "x86_64")).isEqualTo(Architecture.X86_64);
        assertThat(Architecture.of("Linux", "aarch64")).isEqualTo(Architecture.GENERIC);
        assertThat(Architecture.of("Linux", "riscv64")).isEqualTo(Architecture.GENERIC);
        assertThat(Architecture.of("Linux", "loongarch64")).isEqualTo(Architecture.GENERIC);
        assertThat(Architecture.of("Linux", "ppc64le")).isNull();
        assertThat(Architecture.of("Linux", "s390x")).isNull();
        assertThat(Architecture.of("Linux", "x86")).isNull();
        assertThat(Architecture.of("Mac OS X", "aarch64")).isNull();
        assertThat(Architecture.of("Windows 11", "amd64")).isNull();
    }

    @Test
    void thisMachineHasATableAndTheHandleIsBound() {
        assertThat(Architecture.current()).isNotNull();
        assertThat(LibC.available()).isTrue();
        assertThat(LibC.unavailable()).isNull();
    }

    @Test
    void x8664NumbersAreThoseOfTheKernelHeaders() throws IOException {
        assertMatchesHeader(Architecture.X86_64, Path.of("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"));
    }

    @Test
    void genericNumbersAreThoseOfTheGenericKernelHeader() throws IOException {
        // arm64, riscv and loongarch take their numbers from it (their uapi asm/unistd.h include it).
        assertMatchesHeader(Architecture.GENERIC, Path.of("/usr/include/asm-generic/unistd.h"));
    }

    @Test
    void everyCallReachesTheKernelAndReportsEbadfForADescriptorThatIsNotOpen() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = LibC.callState(arena);
            long relativeName = LibC.pointer(arena.allocateFrom("relative-name"));
            int notOpen = -1;
            for (Syscall call : Syscall.values()) {
                long result = switch (call) {
                    case CLOSE -> LibC.call(state, call, notOpen);
                    case OPENAT -> LibC.call(state, call, notOpen, relativeName, 0, 0);
                    case LSEEK -> LibC.call(state, call, notOpen, 0, 0);
                    case FALLOCATE -> LibC.call(state, call, notOpen, 0, 0, 4096);
                    case FADVISE64 -> LibC.call(state, call, notOpen, 0, 4096, 0);
                    case SYNC_FILE_RANGE -> LibC.call(state, call, notOpen, 0, 4096, 0);
                    case FSTATFS -> LibC.call(state, call, notOpen, 0, 0);
                    case IOCTL -> LibC.call(state, call, notOpen, 0, 0);
                    case FCNTL -> LibC.call(state, call, notOpen, 1 /* F_GETFD */, 0);
                    case PREADV2 -> LibC.call(state, call, notOpen, 0, 0, 0, 0, 0);
                    case READ, WRITE -> LibC.call(state, call, notOpen, 0, 0);
                    case SPLICE -> LibC.call(state, call, notOpen, 0, notOpen, 0, 4096, 0);
                    case RECVFROM -> LibC.call(state, call, notOpen, 0, 0, 0, 0, 0);
                    // These two take no descriptor: flags no pipe has, and more descriptors than
                    // RLIMIT_NOFILE allows, are refused before anything else.
                    case PIPE2 -> LibC.call(state, call, 0, 0xFFFF_FFFFL, 0);
                    case PPOLL -> LibC.call(state, call, 0, 1L << 30, 0);
                };
                // ENOSYS would say the number names no call; EBADF that the call took the descriptor.
                int expected = call == Syscall.PIPE2 || call == Syscall.PPOLL ? NativeException.EINVAL : NativeException.EBADF;
                assertThat(result).as("%s", call).isEqualTo(-1);
                assertThat(LibC.errno(state)).as("errno of %s", call).isEqualTo(expected);
            }
        }
    }

    @Test
    void heapMemoryIsNotPassedAsAPointer() {
        MemorySegment heap = MemorySegment.ofArray(new byte[16]);
        assertThatThrownBy(() -> LibC.pointer(heap)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("not native memory");
    }

    private static void assertMatchesHeader(Architecture architecture, Path header) throws IOException {
        assumeTrue(Files.isReadable(header), header + " (linux-libc-dev) is not installed");
        Map<String, Long> defined = new HashMap<>();
        Matcher m = DEFINE.matcher(Files.readString(header));
        while (m.find()) {
            defined.putIfAbsent(m.group(1), Long.parseLong(m.group(2)));
        }
        for (Syscall call : Syscall.values()) {
            String name = call.name().toLowerCase(Locale.ROOT);
            assertThat(defined).as("%s in %s", name, header).containsKey(name);
            assertThat(call.number(architecture)).as("%s on %s", name, architecture).isEqualTo(defined.get(name));
        }
    }
}
