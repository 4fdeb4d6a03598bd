using System.Security.Cryptography;
using System.Text;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Kernels;
using Fednl.Messages;
using Fednl.Reporting;

namespace Fednl.Network;

/// <summary>
/// The master's state at the top of a round: the run's settings, history and traffic counters, the server's model,
/// H, g and l, and its copy of every client's state. Resuming from it gives the same result as never stopping:
/// the clients get their state back from it. Written atomically (temporary file, flush, rename), so a crash while
/// writing leaves the previous checkpoint intact. Layout: magic, format version, the fields, magic again, then a
/// SHA-256 of everything before it; a file whose hash does not match is refused before any field is used.
/// </summary>
public sealed class MasterCheckpoint
{
    private const string Magic = "FEDNLCKP";
    /// <summary>Format version; a file of another version is refused by name.</summary>
    public const int FormatVersion = 2;
    private const int HashBytes = 32;

    public required Guid RunId { get; init; }
    public required int Dimension { get; init; }
    public required int Round { get; init; }
    public required int Regularisations { get; init; }
    public required int LineSearchTries { get; init; }
    public required (long UpValues, long UpIndices, long Down) Traffic { get; init; }
    public required IReadOnlyList<RoundReport> History { get; init; }
    public required double[] Model { get; init; }
    public required double[] Hessian { get; init; }
    public required double[] Gradient { get; init; }
    public required double DifferenceNorm { get; init; }
    /// <summary>Every client's state (H_i; FedNL-PP w_i, l_i), by id.</summary>
    public required ClientState[] States { get; init; }
    /// <summary>Which clients' shifts the server's H averages over (all, unless clients were lost).</summary>
    public required bool[] Members { get; init; }
    public required string Settings { get; init; }

    /// <summary>The settings that must agree for a resumed run to continue the same computation.</summary>
    internal static string SettingsKey(TrainingOptions o, double alpha) =>
        FormattableString.Invariant($"algorithm={o.Algorithm} compressor={o.Compressor} k-mult={o.KMultiplier:R} lambda={o.Lambda:R} option={(int)o.Option} ") +
        FormattableString.Invariant($"alpha={alpha:R} seed={o.Seed} clients={o.Clients} clients-per-round={o.ClientsPerRound} hessian-rule={o.HessianRule} ") +
        FormattableString.Invariant($"ls={o.LineSearchGamma:R},{o.LineSearchC:R},{o.LineSearchMaxTries}") + (o.ScaleFeatures ? " scale" : "") + (o.StepSize == StepSize.Damped ? " step=damped" : "");

    internal static void Write(string path, Guid runId, TrainingRun run, int round)
    {
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        using (var stream = new HashingWriteStream(file))
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            var server = run.Server;
            w.Write(Encoding.ASCII.GetBytes(Magic));
            w.Write(FormatVersion);
            w.Write(runId.ToByteArray());
            w.Write(SettingsKey(run.Options, run.Alpha));
            w.Write(run.Dimension);
            var states = run.ClientStates ?? throw new InvalidOperationException("a checkpoint needs the run to keep its clients' state");
            w.Write(states.Length);
            w.Write(round);
            w.Write(run.Regularisations);
            w.Write(run.LineSearchTries);
            var (upValues, upIndices, down) = run.Traffic;
            w.Write(upValues);
            w.Write(upIndices);
            w.Write(down);
            w.Write(run.History.Count);
            foreach (var r in run.History) WriteReport(w, r);
            WriteDoubles(w, server.Model);
            WriteDoubles(w, server.Hessian);
            WriteDoubles(w, server.Gradient);
            w.Write(server.DifferenceNorm);
            foreach (bool member in run.Members) w.Write(member);
            foreach (var state in states)
            {
                WriteDoubles(w, state.Shift);
                WriteDoubles(w, state.LocalModel);
                w.Write(state.LocalDifferenceNorm);
            }
            w.Write(Encoding.ASCII.GetBytes(Magic));
            w.Flush();
            file.Write(stream.Hash());
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Checks the trailing SHA-256 against the rest of the file.</summary>
    private static void Verify(FileStream stream, string path)
    {
        long body = stream.Length - HashBytes;
        if (body < Magic.Length + 4) throw new InvalidDataException($"{path}: checkpoint is truncated ({stream.Length} bytes)");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        stream.Position = 0;
        var buffer = new byte[1 << 16];
        for (long left = body; left > 0;)
        {
            int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) throw new InvalidDataException($"{path}: checkpoint is truncated");
            hash.AppendData(buffer, 0, n);
            left -= n;
        }
        var stored = new byte[HashBytes];
        stream.ReadExactly(stored);
        if (!CryptographicOperations.FixedTimeEquals(stored, hash.GetHashAndReset()))
            throw new InvalidDataException($"{path}: checkpoint is corrupted (its SHA-256 does not match its contents); resume from an intact copy or start a new run");
        stream.Position = 0;
    }

    public static MasterCheckpoint Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no checkpoint to resume from", path);
        try
        {
            using var stream = File.OpenRead(path);
            using var r = new BinaryReader(stream, Encoding.UTF8);
            string magic = Encoding.ASCII.GetString(r.ReadBytes(Magic.Length));
            if (magic == "FEDNLCK1")
                throw new InvalidDataException($"{path}: checkpoint format 1 (no integrity check) is not read by this fednl (format {FormatVersion}); start a new run");
            if (magic != Magic)
                throw new InvalidDataException($"{path}: not a fednl checkpoint");
            int version = r.ReadInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"{path}: checkpoint format {version} is not read by this fednl (format {FormatVersion})");
            Verify(stream, path);
            r.ReadBytes(Magic.Length + 4);
            var runId = new Guid(r.ReadBytes(16));
            string settings = r.ReadString();
            int d = r.ReadInt32(), n = r.ReadInt32(), round = r.ReadInt32(), regularisations = r.ReadInt32(), tries = r.ReadInt32();
            if (d < 1 || n < 1 || round < 0 || (long)d * (d + 1) / 2 * 8 * (n + 1) > stream.Length * 2 + (1 << 20))
                throw new InvalidDataException($"{path}: impossible sizes (d = {d}, n = {n}, round {round})");
            var traffic = (r.ReadInt64(), r.ReadInt64(), r.ReadInt64());
            int rows = r.ReadInt32();
            if (rows < 0 || rows > round + 1) throw new InvalidDataException($"{path}: {rows} history rows at round {round}");
            var history = new List<RoundReport>(rows);
            for (int i = 0; i < rows; i++) history.Add(ReadReport(r));
            int packed = PackedSymmetric.Length(d);
            var model = ReadDoubles(r, d);
            var hessian = ReadDoubles(r, packed);
            var gradient = ReadDoubles(r, d);
            double l = r.ReadDouble();
            var members = new bool[n];
            for (int i = 0; i < n; i++)
            {
                byte member = r.ReadByte();
                if (member > 1) throw new InvalidDataException($"{path}: membership flag {member} for client {i}");
                members[i] = member == 1;
            }
            if (!members.Contains(true)) throw new InvalidDataException($"{path}: no client is a member of H");
            var states = new ClientState[n];
            for (int i = 0; i < n; i++)
            {
                var state = states[i] = new ClientState(i, d);
                ReadDoubles(r, packed).CopyTo(state.Shift, 0);
                ReadDoubles(r, d).CopyTo(state.LocalModel, 0);
                state.LocalDifferenceNorm = r.ReadDouble();
            }
            if (Encoding.ASCII.GetString(r.ReadBytes(Magic.Length)) != Magic || stream.Position != stream.Length - HashBytes)
                throw new InvalidDataException($"{path}: checkpoint is truncated or has trailing data");
            return new MasterCheckpoint
            {
                RunId = runId, Dimension = d, Round = round, Regularisations = regularisations, LineSearchTries = tries,
                Traffic = traffic, History = history, Model = model, Hessian = hessian, Gradient = gradient,
                DifferenceNorm = l, States = states, Members = members, Settings = settings,
            };
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{path}: checkpoint is truncated");
        }
    }

    private static void WriteReport(BinaryWriter w, RoundReport r)
    {
        w.Write(r.Round);
        w.Write(r.Loss);
        w.Write(r.GradientNorm);
        w.Write(r.ModelNorm);
        w.Write(r.BytesUpValues);
        w.Write(r.BytesUpIndices);
        w.Write(r.BytesDown);
        w.Write(r.Seconds);
        w.Write(r.LineSearchTries);
        w.Write(r.Participants);
        w.Write(r.SolveRegularisations);
        w.Write(r.ModelDigest);
        w.Write(r.MissingClients.Length);
        foreach (int id in r.MissingClients) w.Write(id);
    }

    private static RoundReport ReadReport(BinaryReader r)
    {
        var report = new RoundReport
        {
            Round = r.ReadInt32(), Loss = r.ReadDouble(), GradientNorm = r.ReadDouble(), ModelNorm = r.ReadDouble(),
            BytesUpValues = r.ReadInt64(), BytesUpIndices = r.ReadInt64(), BytesDown = r.ReadInt64(), Seconds = r.ReadDouble(),
            LineSearchTries = r.ReadInt32(), Participants = r.ReadInt32(), SolveRegularisations = r.ReadInt32(),
            ModelDigest = r.ReadUInt64(),
        };
        int missing = r.ReadInt32();
        if (missing < 0 || missing > 1 << 20) throw new InvalidDataException($"checkpoint history row {report.Round} lists {missing} missing clients");
        var ids = new int[missing];
        for (int i = 0; i < missing; i++) ids[i] = r.ReadInt32();
        return report with { MissingClients = ids };
    }

    private static void WriteDoubles(BinaryWriter w, ReadOnlySpan<double> values)
    {
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
    }

    private static double[] ReadDoubles(BinaryReader r, int count)
    {
        var values = new double[count];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan());
        r.BaseStream.ReadExactly(bytes);
        return values;
    }
}

/// <summary>Forwards writes to a file and hashes them (SHA-256), so a checkpoint is hashed in the same pass that writes it.</summary>
internal sealed class HashingWriteStream(Stream inner) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public byte[] Hash() => _hash.GetHashAndReset();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _hash.AppendData(buffer);
        inner.Write(buffer);
    }

    public override void Flush() => inner.Flush();
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _hash.Dispose();
        base.Dispose(disposing);
    }
}
