/* Hostile, at compile time: the assembler (not the preprocessor) pulls a
 * host file into the object with .incbin, and __has_include probes for
 * files; the program would print what it embedded. */
#include <stdio.h>

#if __has_include("/etc/passwd")
#warning "host /etc/passwd is visible to the compiler"
#endif

asm(".section .rodata\n"
    ".globl stolen\nstolen:\n"
    ".incbin \"/etc/passwd\"\n"
    ".byte 0\n"
    ".previous\n");
extern const char stolen[];

int main(void)
{
    fputs(stolen, stdout);
    return 0;
}
