/*
 * tests/interop/systemd.sh's stand-in for a unit's MemoryDenyWriteExecute=yes, which systemd implements as a seccomp
 * filter (systemd.exec(5)): mmap with PROT_WRITE and PROT_EXEC together, mprotect/pkey_mprotect adding PROT_EXEC and
 * shmat with SHM_EXEC fail with EPERM. PID 1 on the test machine is not systemd, so this helper installs the same
 * rules with no_new_privs and runs the command: systemd-sandbox COMMAND [ARGS...].
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "x86-64 and aarch64 only"
#endif

#define ARG2 (offsetof(struct seccomp_data, args) + 2 * sizeof(__u64)) /* low 32 bits on little-endian */
#define DENY (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
#define PROT_WX 0x6 /* PROT_WRITE | PROT_EXEC */
#define PROT_X 0x4
#define SHM_X 0100000 /* SHM_EXEC */

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s COMMAND [ARGS...]\n", argv[0]);
        return 2;
    }
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG2),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WX),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WX, 10, 11),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pkey_mprotect, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG2),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_X),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_X, 5, 6),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_shmat, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG2),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, SHM_X),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SHM_X, 1, 2),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, DENY),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
        perror("systemd-sandbox: seccomp");
        return 1;
    }
    execvp(argv[1], argv + 1);
    perror("systemd-sandbox: exec");
    return 127;
}
