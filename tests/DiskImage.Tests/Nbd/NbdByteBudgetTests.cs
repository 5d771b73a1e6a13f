using DiskImage.Nbd;

namespace DiskImage.Tests.Nbd;

/// <summary>
/// The per-connection budget: requests past the byte limit wait, two are always admitted whatever their size,
/// and draining waits for every request, not for bytes.
/// </summary>
public class NbdByteBudgetTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Two_requests_larger_than_the_limit_are_admitted_and_a_third_waits_for_one_to_finish()
    {
        var budget = new NbdByteBudget(1 << 20);
        await budget.TakeAsync(4 << 20, CancellationToken.None).WaitAsync(s_limit);
        await budget.TakeAsync(4 << 20, CancellationToken.None).WaitAsync(s_limit);

        var third = budget.TakeAsync(4 << 20, CancellationToken.None);
        await Task.Delay(100);
        Assert.False(third.IsCompleted);

        budget.Give(4 << 20);
        await third.WaitAsync(s_limit);
    }

    [Fact]
    public async Task Small_requests_fill_the_limit_then_wait()
    {
        var budget = new NbdByteBudget(64 << 10);
        for (var i = 0; i < 4; i++)
        {
            await budget.TakeAsync(16 << 10, CancellationToken.None).WaitAsync(s_limit);
        }

        var fifth = budget.TakeAsync(16 << 10, CancellationToken.None);
        await Task.Delay(100);
        Assert.False(fifth.IsCompleted);

        budget.Give(16 << 10);
        await fifth.WaitAsync(s_limit);
    }

    [Fact]
    public async Task Drain_waits_until_every_request_gave_its_bytes_back()
    {
        var budget = new NbdByteBudget(1 << 20);
        await budget.TakeAsync(8 << 10, CancellationToken.None).WaitAsync(s_limit);
        await budget.TakeAsync(8 << 10, CancellationToken.None).WaitAsync(s_limit);

        var drained = budget.DrainAsync(CancellationToken.None);
        budget.Give(8 << 10);
        await Task.Delay(100);
        Assert.False(drained.IsCompleted);

        budget.Give(8 << 10);
        await drained.WaitAsync(s_limit);
    }
}
