package dev.sprout.nbd;

/** The magic numbers that frame NBD messages (proto.md: "Protocol phases"). */
public final class Magic {

    /** "NBDMAGIC": the first eight bytes a server sends. */
    public static final long NBDMAGIC = 0x4e42444d41474943L;
    /** "IHAVEOPT": fixed newstyle negotiation, and the prefix of every client option. */
    public static final long IHAVEOPT = 0x49484156454F5054L;
    /** Prefix of every option reply. */
    public static final long OPTION_REPLY = 0x0003e889045565a9L;
    /** Prefix of a transmission request. */
    public static final int REQUEST = 0x25609513;
    /** Prefix of a simple reply. */
    public static final int SIMPLE_REPLY = 0x67446698;
    /** Prefix of a structured reply chunk. */
    public static final int STRUCTURED_REPLY = 0x668e33ef;

    private Magic() {
    }
}
