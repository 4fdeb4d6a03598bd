using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Messages;

namespace Fednl.Clients;

/// <summary>
/// The client side of every exchange: answers a <see cref="ClientRequest"/> with a <see cref="ClientReply"/>. The
/// single-node simulation calls it for each client in a loop; a networked client calls it for each request it
/// receives; so both run the same code, compressor seeds included (derived here from the run's seed, the client
/// and the round).
/// </summary>
public sealed class ClientRole(FedNLClient client, ulong runSeed, CompressorKind compressor, HessianPath path = HessianPath.Auto)
{
    private readonly Dataset _rows = client.Data;
    private double[]? _divisors;

    /// <summary>The client's algorithm state; a Scale request replaces it by one on the scaled rows.</summary>
    public FedNLClient Client { get; private set; } = client;

    public int Id => Client.Id;

    /// <summary>
    /// Answers <paramref name="request"/> into <paramref name="reply"/>. A Restore whose shift does not vanish off this
    /// client's Hessian pattern throws <see cref="ArgumentException"/> (it cannot be this client's state).
    /// </summary>
    public void Handle(ClientRequest request, ClientScratch scratch, ClientReply reply)
    {
        var x = request.Vector;
        reply.Round = request.Round;
        switch (request.Kind)
        {
            case RequestKind.Initialize:
                if (request.PartialParticipation)
                {
                    Client.InitializePartialParticipation(x, scratch);
                    Client.LocalGradientTerm!.CopyTo(reply.Gradient, 0);
                }
                else
                {
                    Client.InitializeShift(x, scratch);
                }
                reply.ShiftValues = Client.Shift;
                reply.ShiftSupport = Client.Plan.IsDense ? null : Client.Plan.Pattern; // null: every entry
                break;
            case RequestKind.Round:
                ulong seed = SeedSequence.CompressorFor(compressor, runSeed, Id, request.Round);
                if (request.Participate) Client.Participate(x, request.Round, request.Alpha, seed, scratch, reply);
                else Client.Round(x, request.Round, request.Alpha, seed, scratch, reply);
                break;
            case RequestKind.Evaluate:
                reply.Loss = Client.Evaluate(x, scratch, request.WantGradient ? reply.Gradient : default, default);
                break;
            case RequestKind.Restore:
                var state = request.StateOf(Id);
                Client.LoadShift(state.Shift);
                if (request.PartialParticipation) Client.RestorePartialParticipation(state.LocalModel, state.LocalDifferenceNorm, scratch);
                break;
            case RequestKind.FeatureMax:
                FeatureScaling.MaxAbs(_rows).CopyTo(reply.FeatureMaxima, 0);
                break;
            case RequestKind.Scale:
                if (_divisors is null || !_divisors.AsSpan().SequenceEqual(x))
                {
                    _divisors = x.ToArray();
                    Client = new FedNLClient(Id, FeatureScaling.Apply(_rows, _divisors), Client.Lambda, path);
                }
                reply.MaxRowNormSquared = Client.Data.MaxRowNormSquared();
                break;
        }
    }
}
