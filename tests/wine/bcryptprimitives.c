/* A test-only stand-in for Windows' bcryptprimitives.dll, which Wine 8.0 lacks: Rust's
 * standard library asks it for random bytes (ProcessPrng) before main. It forwards to
 * RtlGenRandom, which Wine has. Built by tests/wine/runner.sh into the test Wine prefix only;
 * never shipped beside cutover.exe. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
