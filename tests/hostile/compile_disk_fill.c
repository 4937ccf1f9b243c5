/* Hostile (compile time): a 1 GiB initialised array, so the assembler and
 * the linker must write a 1 GiB object and executable. */
char big[1 << 30] = { [(1 << 30) - 1] = 1 };

int main(void)
{
    return big[12345];
}
