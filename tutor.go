package optio

import (
	"context"
	"time"
)

// TutorConversation is one of a student's chats with the AI tutor. Mode is
// one of study_buddy, teacher, discovery, review, creative (the tutor package
// validates it); QuestID and TaskID say where the student opened it from.
type TutorConversation struct {
	ID        string         `json:"id"`
	UserID    string         `json:"user_id"`
	Mode      string         `json:"mode"`
	QuestID   string         `json:"quest_id,omitempty"`
	TaskID    string         `json:"task_id,omitempty"`
	Title     string         `json:"title"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	Messages  []TutorMessage `json:"messages,omitempty"`
}

// Tutor message roles (the same words Gemini uses).
const (
	TutorRoleUser  = "user"
	TutorRoleModel = "model"
)

// TutorMessage is one message in a conversation, as the student saw it.
// Flagged exchanges are shown to linked parents; Refused marks a question
// the safety check turned away (it never reached the AI), Withheld an answer
// that was replaced by a safe message.
type TutorMessage struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversation_id"`
	Role           string    `json:"role"`
	Text           string    `json:"text"`
	Flagged        bool      `json:"flagged"`
	Category       string    `json:"category,omitempty"`
	Refused        bool      `json:"refused"`
	Withheld       bool      `json:"withheld"`
	ReplyTo        string    `json:"reply_to,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// NewTutorConversation starts a conversation for a student.
type NewTutorConversation struct {
	UserID  string
	Mode    string
	QuestID string
	TaskID  string
	Title   string
}

// TutorQuestion is a student's message, recorded before the tutor answers so
// the daily limit holds across processes.
type TutorQuestion struct {
	ConversationID string
	UserID         string
	Text           string
	// Limit is how many messages the student may send in [DayStart, DayEnd);
	// negative means no limit.
	Limit            int
	DayStart, DayEnd time.Time
	// Flagged, Category and Refused are the input safety check's verdict,
	// recorded with the question before any answer streams, so a parent
	// sees a flagged question even if the exchange never finishes.
	Flagged  bool
	Category string
	Refused  bool
}

// TutorAnswer completes an exchange: the outcome of the safety checks for the
// question and the answer the student saw.
type TutorAnswer struct {
	QuestionID string
	Text       string
	Flagged    bool
	Category   string
	Refused    bool
	Withheld   bool
	// Title, when set, renames the conversation (from its first question).
	Title string
}

// TutorFlaggedExchange is a question and its answer that a safety check
// flagged, for the student's parents.
type TutorFlaggedExchange struct {
	ConversationID string        `json:"conversation_id"`
	Mode           string        `json:"mode"`
	Question       TutorMessage  `json:"question"`
	Answer         *TutorMessage `json:"answer,omitempty"`
}

// TutorCourse is an active Spark course of a student.
type TutorCourse struct {
	ID    string
	Title string
}

// TutorAssignment is a Spark assignment with a due date in one of the
// student's active courses.
type TutorAssignment struct {
	Title  string
	Course string
	DueAt  time.Time
}

// TutorSubmission is work the student handed in to Spark.
type TutorSubmission struct {
	Title       string
	Course      string
	SubmittedAt time.Time
}

// TutorQuest is an active quest of the student with the pillars of its tasks.
type TutorQuest struct {
	Title   string
	Pillars []Pillar
}

// TutorFacts is what the tutor may know about one student's coursework; the
// web side turns it into the tutor's prompt context. It never holds another
// student's data.
type TutorFacts struct {
	Courses     []TutorCourse
	Upcoming    []TutorAssignment
	Overdue     []TutorAssignment
	Submissions []TutorSubmission
	Quests      []TutorQuest
}

// TutorStore keeps tutor conversations, the daily limit count and the
// per-family limits, and reads the coursework the tutor's prompt is built from.
type TutorStore interface {
	CreateTutorConversation(ctx context.Context, in NewTutorConversation) (*TutorConversation, error)
	TutorConversations(ctx context.Context, userID string) ([]TutorConversation, error)
	TutorConversation(ctx context.Context, userID, id string) (*TutorConversation, error)
	AddTutorQuestion(ctx context.Context, in TutorQuestion) (*TutorMessage, error)
	AnswerTutorQuestion(ctx context.Context, in TutorAnswer) (*TutorMessage, error)
	DeleteTutorQuestion(ctx context.Context, questionID string) error
	TutorMessagesSent(ctx context.Context, userID string, start, end time.Time) (int, error)
	TutorDailyLimit(ctx context.Context, studentID string) (limit int, set bool, err error)
	SetTutorDailyLimit(ctx context.Context, parentID, studentID string, limit int) error
	ParentTutorDailyLimit(ctx context.Context, parentID, studentID string) (limit int, set bool, err error)
	TutorFlaggedExchanges(ctx context.Context, parentID, studentID string) ([]TutorFlaggedExchange, error)
	TutorFacts(ctx context.Context, userID string, now time.Time) (*TutorFacts, error)
}

// MaxTutorDailyLimit is the highest daily limit a parent may set.
const MaxTutorDailyLimit = 200
