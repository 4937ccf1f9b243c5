/* Tamper: pulls the test driver (which holds the hidden tests' inputs) into
 * the submission at compile time with the assembler's .incbin. The student's
 * files are compiled in a box without the driver, so this must not build. */
#include <stdlib.h>
#include <string.h>
#include "mystr.h"
__asm__(".section .rodata\n.incbin \"driver.o\"\n.incbin \"driver.c\"\n.previous");
char *str_dup(const char *s)
{
    if (!s)
        return NULL;
    char *d = malloc(strlen(s) + 1);
    if (d)
        strcpy(d, s);
    return d;
}
