/* Hostile: a 1 TiB static array. */
static char big[1ULL << 40];

int main(void)
{
    big[0] = 1;
    big[(1ULL << 40) - 1] = 2;
    return big[12345];
}
