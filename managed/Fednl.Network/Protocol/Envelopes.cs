using Google.Protobuf;

namespace Fednl.Network.Wire;

/// <summary>What a connection needs of the two envelope messages (MasterMessage, ClientMessage) of the schema.</summary>
public interface IEnvelope
{
    /// <summary>The body's field number, carried in the frame header so sizes are checked per kind before parsing.</summary>
    int Kind { get; }

    /// <summary>The body when it is an Error, else null.</summary>
    Error? ErrorBody { get; }
}

/// <summary>Builds the envelope a side sends for an error or a shutdown.</summary>
public interface IEnvelopeFactory<TSelf> where TSelf : IMessage<TSelf>, IEnvelope
{
    static abstract TSelf ForError(Error error);
    static abstract TSelf ForShutdown(Shutdown shutdown);
    static abstract MessageParser<TSelf> MessageParser { get; }
    static abstract bool IsKind(int kind);
    static abstract int ErrorKind { get; }
}

public sealed partial class MasterMessage : IEnvelope, IEnvelopeFactory<MasterMessage>
{
    public int Kind => (int)BodyCase;
    public Error? ErrorBody => BodyCase == BodyOneofCase.Error ? Error : null;
    public static MasterMessage ForError(Error error) => new() { Error = error };
    public static MasterMessage ForShutdown(Shutdown shutdown) => new() { Shutdown = shutdown };
    public static MessageParser<MasterMessage> MessageParser => Parser;
    public static bool IsKind(int kind) => kind != 0 && Enum.IsDefined((BodyOneofCase)kind);
    public static int ErrorKind => (int)BodyOneofCase.Error;
}

public sealed partial class ClientMessage : IEnvelope, IEnvelopeFactory<ClientMessage>
{
    public int Kind => (int)BodyCase;
    public Error? ErrorBody => BodyCase == BodyOneofCase.Error ? Error : null;
    public static ClientMessage ForError(Error error) => new() { Error = error };
    public static ClientMessage ForShutdown(Shutdown shutdown) => new() { Shutdown = shutdown };
    public static MessageParser<ClientMessage> MessageParser => Parser;
    public static bool IsKind(int kind) => kind != 0 && Enum.IsDefined((BodyOneofCase)kind);
    public static int ErrorKind => (int)BodyOneofCase.Error;
}
