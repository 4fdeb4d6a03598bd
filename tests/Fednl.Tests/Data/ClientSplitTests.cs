using Fednl.Data;

namespace Fednl.Tests.Data;

public sealed class ClientSplitTests
{
    private static readonly Dataset Data = SyntheticDataset.Generate(103, 7, 0.5, 9);

    [Test]
    public void Drop_remainder_gives_equal_clients_and_reports_the_rest()
    {
        var split = ClientSplit.Split(Data, 10, 123);
        Assert.That(split.Clients.Select(c => c.Samples), Is.All.EqualTo(10));
        Assert.That(split.DroppedSamples, Is.EqualTo(3));
        Assert.DoesNotThrow(() => ClientSplit.Verify(Data, split));
    }

    [Test]
    public void Keep_all_sizes_differ_by_at_most_one()
    {
        var split = ClientSplit.Split(Data, 10, 123, SplitMode.KeepAll);
        Assert.That(split.Clients.Select(c => c.Samples), Is.EqualTo(new[] { 11, 11, 11, 10, 10, 10, 10, 10, 10, 10 }));
        Assert.That(split.DroppedSamples, Is.Zero);
        Assert.DoesNotThrow(() => ClientSplit.Verify(Data, split));
    }

    [Test]
    public void Same_seed_same_split_other_seed_other_split()
    {
        Assert.That(ClientSplit.Split(Data, 10, 5).Permutation, Is.EqualTo(ClientSplit.Split(Data, 10, 5).Permutation));
        Assert.That(ClientSplit.Split(Data, 10, 5).Permutation, Is.Not.EqualTo(ClientSplit.Split(Data, 10, 6).Permutation));
    }

    [Test]
    public void A_client_slice_equals_that_client_of_the_full_split()
    {
        var split = ClientSplit.Split(Data, 10, 77);
        var slice = ClientSplit.SliceFor(Data, 10, 77, 4);
        Assert.That(slice.Labels, Is.EqualTo(split.Clients[4].Labels));
        Assert.That(slice.RowPointers, Is.EqualTo(split.Clients[4].RowPointers));
        Assert.That(slice.ColumnIndices, Is.EqualTo(split.Clients[4].ColumnIndices));
        Assert.That(slice.Values, Is.EqualTo(split.Clients[4].Values));
    }

    [Test]
    public void Verify_detects_a_tampered_copy()
    {
        var split = ClientSplit.Split(Data, 10, 1);
        split.Clients[2].Values[0] = BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(split.Clients[2].Values[0]) + 1);
        var e = Assert.Throws<InvalidDataException>(() => ClientSplit.Verify(Data, split));
        Assert.That(e!.Message, Does.Contain("client 2"));
    }

    [Test]
    public void Too_many_clients_is_an_error()
    {
        var e = Assert.Throws<ArgumentException>(() => ClientSplit.Split(Data, 104, 1));
        Assert.That(e!.Message, Does.Contain("clients (104) exceed samples (103)"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClientSplit.Split(Data, 0, 1));
    }

    [Test]
    public void Synthetic_data_is_deterministic_and_has_both_classes()
    {
        var a = SyntheticDataset.Generate(500, 20, 0.3, 4);
        var b = SyntheticDataset.Generate(500, 20, 0.3, 4);
        Assert.That(a.Values, Is.EqualTo(b.Values));
        Assert.That(a.Labels, Is.EqualTo(b.Labels));
        Assert.That(a.Labels.Count(l => l > 0), Is.InRange(100, 400));
        Assert.That(SyntheticDataset.Generate(500, 20, 0.3, 5).Values, Is.Not.EqualTo(a.Values));
        Assert.That(a.Density, Is.InRange(0.25, 0.35));
    }
}

public sealed class DatasetFromArraysTests
{
    [Test]
    public void A_host_can_build_a_dataset_from_arrays()
    {
        var d = new Fednl.Data.Dataset("host", 3, [0, 2, 3], [0, 2, 1], [1.0, -2.0, 0.5], [1.0, -1.0]);
        Assert.That(d.Samples, Is.EqualTo(2));
        Assert.That(d.WithIntercept().Features, Is.EqualTo(4));
    }

    [TestCase(new long[] { 0, 2, 3 }, new[] { 2, 0, 1 }, new[] { 1.0, -1.0 }, "out of order")]
    [TestCase(new long[] { 0, 2, 3 }, new[] { 0, 3, 1 }, new[] { 1.0, -1.0 }, "outside [0, 3)")]
    [TestCase(new long[] { 0, 2, 3 }, new[] { 0, 2, 1 }, new[] { 1.0, 0.0 }, "labels must be -1 or +1")]
    [TestCase(new long[] { 0, 3, 2 }, new[] { 0, 1, 2 }, new[] { 1.0, -1.0 }, "decrease")]
    public void Bad_arrays_are_rejected_with_the_reason(long[] rows, int[] columns, double[] labels, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => new Fednl.Data.Dataset("host", 3, rows, columns, [1.0, 1.0, 1.0], labels));
        Assert.That(e!.Message, Does.Contain(message));
    }
}
